using System;
using ParaVirt.Abi;

namespace Workloads;

/// <summary>Parses the guest command line <c>"&lt;workload&gt; &lt;operations&gt;"</c> from the start-info page.</summary>
internal static unsafe class WorkloadCommandLine
{
    /// <summary>Splits the command line; false when it is missing or the count is not a positive decimal.</summary>
    public static bool TryParse(StartInfo* info, out ReadOnlySpan<byte> name, out long operations)
    {
        name = default;
        operations = 0;
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
        return operations > 0;
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
