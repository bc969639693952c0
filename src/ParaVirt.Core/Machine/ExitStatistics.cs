using System;
using System.Collections.Generic;
using ParaVirt.Core.Cpu;

namespace ParaVirt.Core.Machine;

/// <summary>
/// Exact exit counters of a VM: by reason, traps by vector. Incremented on the vCPU thread with no
/// allocation; read at any time (values are monotonic 64-bit counters).
/// </summary>
public sealed class ExitStatistics
{
    private readonly long[] _byReason = new long[Enum.GetValues<ExitReason>().Length];
    private readonly long[] _trapsByVector = new long[256];
    private readonly Dictionary<string, long> _trapsByInstruction = new(StringComparer.Ordinal);

    /// <summary>All exits.</summary>
    public long Total { get; private set; }

    /// <summary>Exits with <paramref name="reason"/>.</summary>
    public long this[ExitReason reason] => _byReason[(int)reason];

    /// <summary>Traps with <paramref name="vector"/>.</summary>
    public long TrapsByVector(byte vector) => _trapsByVector[vector];

    /// <summary>Traps counted by the emulated instruction's mnemonic (filled by trap emulators).</summary>
    public IReadOnlyDictionary<string, long> TrapsByInstruction => _trapsByInstruction;

    internal void Count(in VcpuExit exit)
    {
        Total++;
        _byReason[(int)exit.Reason]++;
        if (exit.Reason == ExitReason.Trap)
            _trapsByVector[exit.Vector]++;
    }

    /// <summary>Counts one emulated instruction by name (a trap emulator calls this; names are interned literals).</summary>
    public void CountInstruction(string mnemonic)
    {
        _trapsByInstruction.TryGetValue(mnemonic, out long n);
        _trapsByInstruction[mnemonic] = n + 1;
    }

    /// <summary>Non-zero counters by reason name.</summary>
    public IReadOnlyDictionary<string, long> ByReason()
    {
        var result = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (ExitReason reason in Enum.GetValues<ExitReason>())
            if (_byReason[(int)reason] > 0)
                result[reason.ToString()] = _byReason[(int)reason];
        return result;
    }

    /// <summary>Zeroes every counter.</summary>
    public void Reset()
    {
        Total = 0;
        Array.Clear(_byReason);
        Array.Clear(_trapsByVector);
        _trapsByInstruction.Clear();
    }
}
