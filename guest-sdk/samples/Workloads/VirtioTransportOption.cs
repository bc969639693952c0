using ParaVirt.Abi;
using ParaVirt.Guest.Virtio;

namespace Workloads;

/// <summary>
/// Which virtio transport the para block workloads open, from the command line's options after the
/// operation count: <c>disk=virtio-blk-async</c> selects the asynchronous transport (doorbell and
/// device thread), polling the used ring unless <c>wait=block</c> asks to wait in
/// <c>SchedOp(block)</c>. Without them: the synchronous hypercall transport.
/// </summary>
internal static unsafe class VirtioTransportOption
{
    /// <summary>The transport the command line asks for.</summary>
    public static VirtioTransportMode Parse(StartInfo* info)
    {
        if (!HasToken(info, "disk=virtio-blk-async"))
            return VirtioTransportMode.Hypercall;
        return HasToken(info, "wait=block") ? VirtioTransportMode.AsyncBlock : VirtioTransportMode.AsyncPoll;
    }

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
