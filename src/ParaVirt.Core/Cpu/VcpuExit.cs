using System;

namespace ParaVirt.Core.Cpu;

/// <summary>
/// One exit of a vCPU, as a flat struct the engine fills in place: no allocation per exit. Which
/// fields are meaningful depends on <see cref="Reason"/>. The I/O data buffer belongs to the engine
/// (for KVM it lies in the shared <c>kvm_run</c> page) and is valid until the next run.
/// </summary>
public unsafe struct VcpuExit
{
    /// <summary>Why the vCPU exited.</summary>
    public ExitReason Reason;

    /// <summary>PortIo: the port. </summary>
    public ushort Port;

    /// <summary>PortIo and Mmio: bytes per access (1, 2, 4, or 8 for MMIO).</summary>
    public byte Size;

    /// <summary>PortIo and Mmio: true for a write (OUT, store), false for a read.</summary>
    public bool IsWrite;

    /// <summary>PortIo: number of accesses of <see cref="Size"/> bytes (more than one for <c>rep ins/outs</c>).</summary>
    public uint Count;

    /// <summary>Mmio: the guest-physical address. Trap: the faulting linear address for a page fault (CR2).</summary>
    public ulong Address;

    /// <summary>PortIo and Mmio: the engine's data buffer, <see cref="Size"/> × <see cref="Count"/> bytes.</summary>
    public byte* Data;

    /// <summary>Trap: the exception vector.</summary>
    public byte Vector;

    /// <summary>Trap: the error code (zero for vectors without one).</summary>
    public uint ErrorCode;

    /// <summary>Trap: the RIP of the faulting instruction. Otherwise the RIP at the exit, when known.</summary>
    public ulong Rip;

    /// <summary>The engine's own exit code, for diagnostics (for KVM, <c>kvm_run-&gt;exit_reason</c> or a sub-code).</summary>
    public ulong EngineCode;

    /// <summary>The I/O data as a span.</summary>
    public readonly Span<byte> DataSpan => new(Data, Size * (int)(Count == 0 ? 1 : Count));
}
