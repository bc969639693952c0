using System.Runtime.InteropServices;

namespace ParaVirt.Kvm.Interop;

/// <summary><c>struct kvm_userspace_memory_region</c> (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmUserspaceMemoryRegion
{
    public uint Slot;
    public uint Flags;
    public ulong GuestPhysAddr;
    public ulong MemorySize;
    public ulong UserspaceAddr;
}

/// <summary><c>struct kvm_segment</c> (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmSegment
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public byte Type;
    public byte Present, Dpl, Db, S, L, G, Avl;
    public byte Unusable;
    public byte Padding;
}

/// <summary><c>struct kvm_dtable</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmDtable
{
    public ulong Base;
    public ushort Limit;
    public ushort Padding0, Padding1, Padding2;
}

/// <summary><c>struct kvm_sregs</c> (312 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmSregs
{
    public KvmSegment Cs, Ds, Es, Fs, Gs, Ss;
    public KvmSegment Tr, Ldt;
    public KvmDtable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8;
    public ulong Efer;
    public ulong ApicBase;
    public fixed ulong InterruptBitmap[4];
}

/// <summary>
/// <c>struct kvm_vcpu_events</c> (64 bytes): the exception, interrupt and NMI the vCPU is in the
/// middle of delivering. Only the fields the engine reads or clears are named.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmVcpuEvents
{
    public byte ExceptionInjected, ExceptionNr, ExceptionHasErrorCode, ExceptionPending;
    public uint ExceptionErrorCode;
    public byte InterruptInjected, InterruptNr, InterruptSoft, InterruptShadow;
    public byte NmiInjected, NmiPending, NmiMasked, NmiPad;
    public uint SipiVector;
    public uint Flags;
    public fixed byte Rest[40]; // smi, triple_fault, reserved, exception payload
}

/// <summary><c>struct kvm_ioeventfd</c> (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmIoeventfd
{
    public ulong Datamatch;
    public ulong Addr;
    public uint Len;
    public int Fd;
    public uint Flags;
    public fixed byte Pad[36];
}

/// <summary>
/// The head of <c>struct kvm_run</c>, the page KVM shares with userspace for each vCPU, up to and
/// including the synchronised general registers. Offsets from the header (a test checks them):
/// immediate_exit 1, exit_reason 8, exit union 32, kvm_valid_regs 288, kvm_dirty_regs 296, s.regs 304.
/// </summary>
[StructLayout(LayoutKind.Explicit)]
internal struct KvmRun
{
    [FieldOffset(0)] public byte RequestInterruptWindow;
    [FieldOffset(1)] public byte ImmediateExit;
    [FieldOffset(8)] public uint ExitReason;
    [FieldOffset(12)] public byte ReadyForInterruptInjection;
    [FieldOffset(13)] public byte IfFlag;
    [FieldOffset(14)] public ushort Flags;

    // exit union, io variant
    [FieldOffset(32)] public byte IoDirection;
    [FieldOffset(33)] public byte IoSize;
    [FieldOffset(34)] public ushort IoPort;
    [FieldOffset(36)] public uint IoCount;
    [FieldOffset(40)] public ulong IoDataOffset;

    // exit union, mmio variant
    [FieldOffset(32)] public ulong MmioPhysAddr;
    [FieldOffset(40)] public ulong MmioData;
    [FieldOffset(48)] public uint MmioLen;
    [FieldOffset(52)] public byte MmioIsWrite;

    // exit union, fail_entry / internal variants
    [FieldOffset(32)] public ulong FailEntryReason;
    [FieldOffset(32)] public uint InternalSuberror;

    [FieldOffset(288)] public ulong KvmValidRegs;
    [FieldOffset(296)] public ulong KvmDirtyRegs;
    [FieldOffset(304)] public ParaVirt.Core.Cpu.Registers Regs;

    public const ulong SyncRegs = 1, SyncSregs = 2, SyncEvents = 4;
}
