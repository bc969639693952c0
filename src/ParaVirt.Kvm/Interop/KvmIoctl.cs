namespace ParaVirt.Kvm.Interop;

/// <summary>ioctl request numbers and constants from <c>&lt;linux/kvm.h&gt;</c> (x86-64). A test compiles the header and compares.</summary>
internal static class KvmIoctl
{
    public const nuint GetApiVersion = 0xAE00;
    public const nuint CreateVm = 0xAE01;
    public const nuint CheckExtension = 0xAE03;
    public const nuint GetVcpuMmapSize = 0xAE04;
    public const nuint CreateVcpu = 0xAE41;
    public const nuint SetUserMemoryRegion = 0x4020AE46;
    public const nuint SetTssAddr = 0xAE47;
    public const nuint Run = 0xAE80;
    public const nuint GetRegs = 0x8090AE81;
    public const nuint SetRegs = 0x4090AE82;
    public const nuint GetSregs = 0x8138AE83;
    public const nuint SetSregs = 0x4138AE84;
    public const nuint SetCpuid2 = 0x4008AE90;
    public const nuint GetSupportedCpuid = 0xC008AE05;
    public const nuint Ioeventfd = 0x4040AE79;
    public const nuint GetVcpuEvents = 0x8040AE9F;
    public const nuint SetVcpuEvents = 0x4040AEA0;
    public const nuint GetMsrs = 0xC008AE88;
    public const nuint SetMsrs = 0x4008AE89;
    public const nuint GetTscKhz = 0xAEA3;

    /// <summary><c>kvm_ioeventfd.flags</c>: a port-I/O doorbell (KVM_IOEVENTFD_FLAG_PIO).</summary>
    public const uint IoeventfdFlagPio = 1 << 1;

    /// <summary><c>kvm_ioeventfd.flags</c>: remove the doorbell (KVM_IOEVENTFD_FLAG_DEASSIGN).</summary>
    public const uint IoeventfdFlagDeassign = 1 << 2;

    /// <summary>The KVM API version every kernel since 2.6.22 reports.</summary>
    public const int ExpectedApiVersion = 12;
}

/// <summary>KVM_CAP_* numbers the engine uses or reports.</summary>
public enum KvmCapability
{
    /// <summary>An in-kernel interrupt controller.</summary>
    Irqchip = 0,
    /// <summary>KVM_SET_USER_MEMORY_REGION.</summary>
    UserMemory = 3,
    /// <summary>KVM_SET_TSS_ADDR.</summary>
    SetTssAddr = 4,
    /// <summary>Recommended vCPU count.</summary>
    NrVcpus = 9,
    /// <summary>Coalesced MMIO.</summary>
    CoalescedMmio = 15,
    /// <summary>irqfd.</summary>
    Irqfd = 32,
    /// <summary>ioeventfd: doorbells that need no userspace exit.</summary>
    Ioeventfd = 36,
    /// <summary>Maximum vCPU count.</summary>
    MaxVcpus = 66,
    /// <summary>Registers synchronised through the kvm_run page.</summary>
    SyncRegs = 74,
    /// <summary>Split IRQ chip.</summary>
    SplitIrqchip = 121,
    /// <summary>kvm_run.immediate_exit.</summary>
    ImmediateExit = 136,
    /// <summary>Coalesced PIO.</summary>
    CoalescedPio = 162,
    /// <summary>MSR accesses forwarded to userspace.</summary>
    X86UserSpaceMsr = 188,
}

/// <summary>KVM_EXIT_* values of <c>kvm_run.exit_reason</c>.</summary>
internal static class KvmExit
{
    public const uint Unknown = 0, Exception = 1, Io = 2, Hypercall = 3, Debug = 4, Hlt = 5, Mmio = 6,
        IrqWindowOpen = 7, Shutdown = 8, FailEntry = 9, Intr = 10, InternalError = 17, SystemEvent = 24;

    public const byte IoIn = 0, IoOut = 1;
}
