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
    private readonly long[] _trapsByInstruction = new long[TrapInstructionNames.Count];

    /// <summary>All exits.</summary>
    public long Total { get; private set; }

    /// <summary>Exits with <paramref name="reason"/>.</summary>
    public long this[ExitReason reason] => _byReason[(int)reason];

    /// <summary>Traps with <paramref name="vector"/>.</summary>
    public long TrapsByVector(byte vector) => _trapsByVector[vector];

    /// <summary>Emulated <paramref name="instruction"/>s (counted by trap emulators).</summary>
    public long TrapsByInstruction(TrapInstruction instruction) => _trapsByInstruction[(int)instruction];

    internal void Count(in VcpuExit exit)
    {
        Total++;
        _byReason[(int)exit.Reason]++;
        if (exit.Reason == ExitReason.Trap)
            _trapsByVector[exit.Vector]++;
    }

    /// <summary>Counts one emulated instruction (a trap emulator calls this; an array increment, nothing allocated).</summary>
    /// <exception cref="IndexOutOfRangeException">Not a defined <see cref="TrapInstruction"/>.</exception>
    public void CountInstruction(TrapInstruction instruction) => _trapsByInstruction[(int)instruction]++;

    /// <summary>Non-zero counters by reason name.</summary>
    public IReadOnlyDictionary<string, long> ByReason()
    {
        var result = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (ExitReason reason in Enum.GetValues<ExitReason>())
            if (_byReason[(int)reason] > 0)
                result[reason.ToString()] = _byReason[(int)reason];
        return result;
    }

    /// <summary>Non-zero emulated-instruction counters by mnemonic (<see cref="TrapInstructionNames"/>), in <see cref="TrapInstruction"/> order.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> ByInstruction()
    {
        var result = new List<KeyValuePair<string, long>>();
        for (int i = 0; i < _trapsByInstruction.Length; i++)
            if (_trapsByInstruction[i] > 0)
                result.Add(new(TrapInstructionNames.Name((TrapInstruction)i), _trapsByInstruction[i]));
        return result;
    }

    /// <summary>Zeroes every counter.</summary>
    public void Reset()
    {
        Total = 0;
        Array.Clear(_byReason);
        Array.Clear(_trapsByVector);
        Array.Clear(_trapsByInstruction);
    }
}
