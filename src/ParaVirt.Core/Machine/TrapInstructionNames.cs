using System;

namespace ParaVirt.Core.Machine;

/// <summary>The display names of <see cref="TrapInstruction"/> values: the mnemonics run summaries and reports print.</summary>
/// <example><code>
/// string name = TrapInstructionNames.Name(TrapInstruction.MovToCr); // "mov to cr"
/// </code></example>
public static class TrapInstructionNames
{
    private static readonly string[] s_names =
    [
        "cli", "sti", "hlt", "mov from cr", "mov to cr", "rdmsr", "wrmsr", "cpuid", "invlpg", "lidt", "lgdt", "iretq", "in", "out", "ins", "outs",
    ];

    /// <summary>How many <see cref="TrapInstruction"/> values there are.</summary>
    public static int Count => s_names.Length;

    /// <summary>The mnemonic of <paramref name="instruction"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined value.</exception>
    public static string Name(TrapInstruction instruction)
    {
        if ((uint)instruction >= (uint)s_names.Length)
            throw new ArgumentOutOfRangeException(nameof(instruction), instruction, "not a trap instruction");
        return s_names[(int)instruction];
    }
}
