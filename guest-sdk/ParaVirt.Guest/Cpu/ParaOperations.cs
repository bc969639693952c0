using Internal.Runtime;
using ParaVirt.Abi;

namespace ParaVirt.Guest;

/// <summary>
/// The paravirtual flavour of <see cref="Cpu"/>: hypercalls and shared pages instead of
/// privileged instructions. Interrupt masking is a store to <see cref="SharedInfo.EventMask"/>
/// (no exit); halting is <see cref="SchedOp.Block"/>; the clock is the PV clock page (no exit).
/// Port I/O and control registers have no para form (para guests use virtio and never touch
/// them): those stop the VM with a reason, so a para build never silently executes a privileged
/// instruction.
/// </summary>
/// <example><code>
/// ParaOperations.DisableInterrupts();   // shared->EventMask = 1
/// ParaOperations.EnableInterrupts();    // shared->EventMask = 0, then pending events are handled
/// </code></example>
public static unsafe class ParaOperations
{
    /// <summary>Stops the VM: <paramref name="operation"/> has no para implementation.</summary>
    public static void NotYetAvailable(string operation)
    {
        Hypercalls.Shutdown(Internal.Runtime.GuestFailFast.ExitCode,
            operation);
    }

    /// <summary>Masks events: one store, no exit.</summary>
    public static void DisableInterrupts() => Events.Shared->EventMask = 1;

    /// <summary>Unmasks events; events that arrived meanwhile are handled now (still no exit).</summary>
    public static void EnableInterrupts()
    {
        SharedInfo* s = Events.Shared;
        s->EventMask = 0;
        if (s->EventPending != 0)
        {
            s->EventMask = 1;
            Events.DispatchPending();
            s->EventMask = 0;
        }
    }

    /// <summary>Blocks until an event is pending (sched_op block), then handles it.</summary>
    public static void Halt()
    {
        RawHypercall.Call(Hypercall.SchedOp, (ulong)SchedOp.Block, 0);
        Events.DispatchPending();
    }

    /// <summary>Para port read: none (para guests use virtio); stops the VM.</summary>
    public static uint PortIn(ushort port, int size)
    {
        NotYetAvailable("para Cpu port input does not exist: para guests use virtio");
        return 0;
    }

    /// <summary>Para port write: none (para guests use virtio); stops the VM.</summary>
    public static void PortOut(ushort port, int size, uint value) => NotYetAvailable("para Cpu port output does not exist: para guests use virtio");

    /// <summary>Para control-register or MSR access: none (the host owns them); stops the VM.</summary>
    public static ulong Register(string what)
    {
        NotYetAvailable(what);
        return 0;
    }

    /// <summary>The PV clock: nanoseconds of system time, read without an exit.</summary>
    public static ulong NowNanoseconds() => PvClockReader.Now();
}
