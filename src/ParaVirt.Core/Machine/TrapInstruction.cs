namespace ParaVirt.Core.Machine;

/// <summary>
/// The privileged instructions a trap emulator emulates, as counted by
/// <see cref="ExitStatistics.CountInstruction"/>. <see cref="TrapInstructionNames"/> gives each its
/// display name (the mnemonic in run summaries).
/// </summary>
/// <example><code>
/// vm.Exits.CountInstruction(TrapInstruction.Cli);              // in a trap emulator
/// long clis = vm.Exits.TrapsByInstruction(TrapInstruction.Cli);  // after the run
/// </code></example>
public enum TrapInstruction
{
    /// <summary><c>cli</c>.</summary>
    Cli,
    /// <summary><c>sti</c>.</summary>
    Sti,
    /// <summary><c>hlt</c>.</summary>
    Hlt,
    /// <summary><c>mov r64, crN</c>.</summary>
    MovFromCr,
    /// <summary><c>mov crN, r64</c>.</summary>
    MovToCr,
    /// <summary><c>rdmsr</c>.</summary>
    Rdmsr,
    /// <summary><c>wrmsr</c>.</summary>
    Wrmsr,
    /// <summary><c>cpuid</c> (when CPUID faulting is on).</summary>
    Cpuid,
    /// <summary><c>invlpg</c>.</summary>
    Invlpg,
    /// <summary><c>lidt</c>.</summary>
    Lidt,
    /// <summary><c>lgdt</c>.</summary>
    Lgdt,
    /// <summary><c>iretq</c> (emulated only right after an emulated <c>sti</c>).</summary>
    Iretq,
    /// <summary><c>in</c> on a port the I/O bitmap denies.</summary>
    In,
    /// <summary><c>out</c> on a port the I/O bitmap denies.</summary>
    Out,
    /// <summary><c>ins</c> on a port the I/O bitmap denies.</summary>
    Ins,
    /// <summary><c>outs</c> on a port the I/O bitmap denies.</summary>
    Outs,
}
