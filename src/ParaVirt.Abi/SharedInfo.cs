namespace ParaVirt.Abi;

/// <summary>
/// The shared-info page (<see cref="StartInfo.SharedInfo"/>, guest read-write), after Xen's
/// <c>shared_info</c>: the virtual interrupt mask and pending events at offset 0, the PV clock at
/// <see cref="PvClockOffset"/>. Masking and unmasking events is a store to this page: no exit.
/// </summary>
/// <remarks>
/// Writers: the guest writes <see cref="EventMask"/> and clears bits of <see cref="PendingEvents"/>
/// and <see cref="EventPending"/>; the host sets them. The host writes only while the vCPU is out
/// of the guest (at an exit), so a guest needs no atomic instructions on one vCPU.
/// Layout is fixed by the ABI (docs/abi.md); offsets are pinned by a test. Size: 64 bytes.
/// </remarks>
/// <example><code>
/// SharedInfo* s = (SharedInfo*)startInfo->SharedInfo;
/// s->EventMask = 1;                 // cli, without an exit
/// ...critical section...
/// s->EventMask = 0;                 // sti
/// if (s->EventPending != 0) RawHypercall.Call(Hypercall.SchedOp, (ulong)SchedOp.Yield);
/// </code></example>
public struct SharedInfo
{
    /// <summary>Where the <see cref="PvClock"/> record sits in the shared-info page.</summary>
    public const int PvClockOffset = 64;

    /// <summary>Offset 0: 1 while events are masked (the virtual interrupt flag is clear), 0 when they may be delivered.</summary>
    public byte EventMask;

    /// <summary>Offset 1: 1 when at least one bit of <see cref="PendingEvents"/> is set and not yet seen by the guest.</summary>
    public byte EventPending;

    /// <summary>Offset 2: reserved, 0.</summary>
    public ushort Reserved0;

    /// <summary>Offset 4: reserved, 0.</summary>
    public uint Reserved1;

    /// <summary>Offset 8: pending event channels, one bit per <see cref="EventChannel"/>.</summary>
    public ulong PendingEvents;

    /// <summary>Offset 16: event callbacks the host has entered (a counter, for diagnostics).</summary>
    public ulong CallbacksDelivered;

    /// <summary>
    /// Offset 24: nonzero while the guest's paravirtual page-fault handler runs (<see cref="Hypercall.SetPageFaultHandler"/>):
    /// set by the host when it enters the handler, cleared by the handler before it returns. A page fault
    /// while it is set is a double fault: the host stops the VM with the reason.
    /// </summary>
    public ulong InPageFault;

    /// <summary>Offset 32: reserved, 0.</summary>
    public ulong Reserved3;

    /// <summary>Offset 40: reserved, 0.</summary>
    public ulong Reserved4;

    /// <summary>Offset 48: reserved, 0.</summary>
    public ulong Reserved5;

    /// <summary>Offset 56: reserved, 0.</summary>
    public ulong Reserved6;
}
