using System;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// One fuzz target: runs the product code on an input and checks its oracle. A violated oracle
/// throws <see cref="OracleViolationException"/>; any other exception escaping <see cref="Run"/>
/// is a finding too (the product code let it escape). A target may keep state between inputs
/// only to go faster (buffers, a reused disk file); each input starts from the same state.
/// </summary>
public interface IFuzzTarget : IDisposable
{
    /// <summary>The target's name: its corpus folder (fuzz/corpus/NAME) and the driver's argument.</summary>
    string Name { get; }

    /// <summary>Runs one input and checks the oracle.</summary>
    void Run(ReadOnlySpan<byte> input);
}
