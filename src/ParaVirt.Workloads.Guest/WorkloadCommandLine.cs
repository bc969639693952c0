using System;
using ParaVirt.Abi;

namespace Workloads;

/// <summary>
/// Parses the guest command line <c>"&lt;workload&gt; &lt;operations&gt; [disk=&lt;device&gt;] [console=async] [wait=poll|block]"</c> from the
/// start-info page (device names: <see cref="ParaVirt.Workloads.DiskWireName"/>).
/// </summary>
internal static unsafe class WorkloadCommandLine
{
    /// <summary>Splits the command line; false when it is missing or the count is not a positive decimal.</summary>
    public static bool TryParse(StartInfo* info, out ReadOnlySpan<byte> name, out long operations, out ReadOnlySpan<byte> disk)
    {
        name = default;
        operations = 0;
        disk = default;
        if (info->CommandLine == 0 || info->CommandLineLength == 0)
            return false;
        byte* text = (byte*)info->CommandLine;
        int length = (int)info->CommandLineLength;
        int i = 0;
        while (i < length && text[i] != (byte)' ')
            i++;
        if (i == 0)
            return false;
        name = new ReadOnlySpan<byte>(text, i);
        while (i < length && text[i] == (byte)' ')
            i++;
        if (i == length)
            return false;
        for (; i < length && text[i] != (byte)' '; i++)
        {
            byte c = text[i];
            if (c < (byte)'0' || c > (byte)'9' || operations > 1_000_000_000_000L)
                return false;
            operations = operations * 10 + (c - '0');
        }
        if (operations <= 0)
            return false;
        // Optional words after the count: disk=<device>; anything else is refused.
        while (NextWord(text, length, ref i, out ReadOnlySpan<byte> word))
        {
            if (Is(word, WaitOption.WaitBlock) || Is(word, WaitOption.WaitPoll))
                continue; // how an asynchronous device is waited for (WaitOption)
            if (Is(word, ConsoleWorkload.AsyncWord))
                continue; // the console workload's virtio-console on the asynchronous transport
            if (!StartsWith(word, ParaVirt.Workloads.DiskWireName.Prefix) || word.Length == ParaVirt.Workloads.DiskWireName.Prefix.Length)
                return false;
            disk = word.Slice(ParaVirt.Workloads.DiskWireName.Prefix.Length);
        }
        return true;
    }

    /// <summary>Whether the command line holds <paramref name="literal"/> as a whole word (anywhere).</summary>
    public static bool HasWord(StartInfo* info, string literal)
    {
        if (info->CommandLine == 0)
            return false;
        int i = 0;
        while (NextWord((byte*)info->CommandLine, (int)info->CommandLineLength, ref i, out ReadOnlySpan<byte> word))
            if (Is(word, literal))
                return true;
        return false;
    }

    /// <summary>The next space-separated word at or after <paramref name="i"/> (which moves past it); false at the end.</summary>
    private static bool NextWord(byte* text, int length, scoped ref int i, out ReadOnlySpan<byte> word)
    {
        while (i < length && text[i] == (byte)' ')
            i++;
        int start = i;
        while (i < length && text[i] != (byte)' ')
            i++;
        word = new ReadOnlySpan<byte>(text + start, i - start);
        return i > start;
    }

    private static bool StartsWith(ReadOnlySpan<byte> word, string prefix)
    {
        if (word.Length < prefix.Length)
            return false;
        for (int k = 0; k < prefix.Length; k++)
            if (word[k] != prefix[k])
                return false;
        return true;
    }

    /// <summary>Whether the ASCII <paramref name="name"/> equals <paramref name="literal"/>.</summary>
    public static bool Is(ReadOnlySpan<byte> name, string literal)
    {
        if (name.Length != literal.Length)
            return false;
        for (int i = 0; i < name.Length; i++)
            if (name[i] != literal[i])
                return false;
        return true;
    }
}
