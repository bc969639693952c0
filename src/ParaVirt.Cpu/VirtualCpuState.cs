namespace ParaVirt.Cpu;

/// <summary>
/// The privileged CPU state a full-mode guest believes it has: the interrupt flag, control
/// registers and descriptor-table registers. Only the trap emulator changes it; none of it reaches
/// the real vCPU (which stays at CPL3 on the host's own tables).
/// </summary>
/// <example><code>
/// var vcpu = machine.Cpu!; // from MachineBuilder.Create().WithMode(VirtualizationMode.Full).Build()
/// bool interruptsOn = vcpu.State.InterruptsEnabled;   // after the guest's sti
/// </code></example>
public sealed class VirtualCpuState
{
    /// <summary>CR0 at reset as the platform runs the guest: PE, MP, ET, NE, WP, PG.</summary>
    public const ulong InitialCr0 = 0x8005_0033;

    /// <summary>CR4 at reset: PAE, OSFXSR, OSXMMEXCPT.</summary>
    public const ulong InitialCr4 = 0x620;

    /// <summary>The virtual RFLAGS.IF: true after <c>sti</c>, false after <c>cli</c> and at entry.</summary>
    public bool InterruptsEnabled { get; set; }

    /// <summary>True for the one instruction after <c>sti</c> (the interrupt shadow): no delivery while RIP is still <see cref="ShadowRip"/>.</summary>
    public bool InterruptShadow { get; set; }

    /// <summary>The instruction the sti shadow covers (the one after the sti).</summary>
    public ulong ShadowRip { get; set; }

    /// <summary>Virtual CR0.</summary>
    public ulong Cr0 { get; set; } = InitialCr0;

    /// <summary>Virtual CR2 (the last page-fault address reflected to the guest).</summary>
    public ulong Cr2 { get; set; }

    /// <summary>Virtual CR3: recorded; with a shadow MMU attached, the guest PML4 whose shadow the hardware walks.</summary>
    public ulong Cr3 { get; set; }

    /// <summary>Virtual CR4.</summary>
    public ulong Cr4 { get; set; } = InitialCr4;

    /// <summary>Base of the virtual IDT (set by <c>lidt</c>).</summary>
    public ulong IdtBase { get; set; }

    /// <summary>Limit of the virtual IDT; 0 with <see cref="IdtBase"/> 0 means no IDT was loaded.</summary>
    public ushort IdtLimit { get; set; }

    /// <summary>Base of the virtual GDT (set by <c>lgdt</c>).</summary>
    public ulong GdtBase { get; set; }

    /// <summary>Limit of the virtual GDT.</summary>
    public ushort GdtLimit { get; set; }

    /// <summary>True once the guest executed <c>lidt</c>.</summary>
    public bool IdtLoaded { get; set; }
}
