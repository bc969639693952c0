using ParaVirt.Abi;
using ParaVirt.Guest.Virtio;

namespace Workloads;

/// <summary>
/// How the para block workloads wait on the asynchronous transport (<c>disk=virtio-blk-async</c>):
/// by polling the used ring, unless the command line's <c>wait=block</c> word asks to wait in
/// <c>SchedOp(block)</c>.
/// </summary>
internal static unsafe class VirtioTransportOption
{
    /// <summary>The command-line word that selects waiting in <c>SchedOp(block)</c>.</summary>
    public const string WaitBlock = "wait=block";

    /// <summary>The command-line word that selects polling (the default).</summary>
    public const string WaitPoll = "wait=poll";

    /// <summary>The asynchronous mode the command line asks for.</summary>
    public static VirtioTransportMode AsyncWait(StartInfo* info) =>
        HasToken(info, WaitBlock) ? VirtioTransportMode.AsyncBlock : VirtioTransportMode.AsyncPoll;

    /// <summary>Whether the space-separated command line holds <paramref name="token"/> as a whole word.</summary>
    public static bool HasToken(StartInfo* info, string token)
    {
        if (info->CommandLine == 0)
            return false;
        byte* text = (byte*)info->CommandLine;
        int length = (int)info->CommandLineLength;
        int i = 0;
        while (i < length)
        {
            while (i < length && text[i] == (byte)' ')
                i++;
            int start = i;
            while (i < length && text[i] != (byte)' ')
                i++;
            if (i - start == token.Length)
            {
                bool same = true;
                for (int k = 0; k < token.Length && same; k++)
                    same = text[start + k] == token[k];
                if (same)
                    return true;
            }
        }
        return false;
    }
}
