namespace ParaVirt.Abi;

/// <summary>
/// Commands of <see cref="Hypercall.SchedOp"/> (in <c>arg0</c>), after Xen's <c>sched_op</c>.
/// </summary>
/// <example><code>
/// // block until an event is pending or PV clock time 'deadline' passes
/// RawHypercall.Call(Hypercall.SchedOp, (ulong)SchedOp.Block, deadline);
/// </code></example>
public enum SchedOp : ulong
{
    /// <summary>Gives the physical CPU away for a moment; returns 0. (Pending events are not delivered at a hypercall exit: a guest that unmasks handles them itself.)</summary>
    Yield = 0,

    /// <summary>
    /// Waits until an event is pending (<see cref="SharedInfo.EventPending"/>) or PV clock time
    /// <c>arg1</c> (ns, 0 = no deadline) passes; returns 1 if an event is pending, 0 on the deadline.
    /// Blocking with no deadline, no armed timer and no event source stops the VM (it could never wake).
    /// </summary>
    Block = 1,

    /// <summary>Stops the VM with exit code <c>arg1</c> and an ASCII reason of <c>arg3</c> bytes at <c>arg2</c>, as <see cref="Hypercall.Shutdown"/>.</summary>
    Shutdown = 2,
}
