namespace ParaVirt.Core.Cpu;

/// <summary>Why a vCPU left guest execution. Every engine maps its own exits onto these.</summary>
public enum ExitReason : byte
{
    /// <summary>No exit yet.</summary>
    None = 0,

    /// <summary>The guest accessed an I/O port that a device may claim on the port bus.</summary>
    PortIo,

    /// <summary>The guest accessed a guest-physical address that is not RAM (memory-mapped I/O).</summary>
    Mmio,

    /// <summary>The guest issued a hypercall: the number and arguments are in the registers.</summary>
    Hypercall,

    /// <summary>The guest raised an exception (vector, error code and RIP in the exit).</summary>
    Trap,

    /// <summary>The vCPU halted.</summary>
    Halt,

    /// <summary>The VM shut down (on x86 a triple fault).</summary>
    Shutdown,

    /// <summary>The hardware refused to enter the guest (invalid state).</summary>
    EntryFailure,

    /// <summary>The engine could not handle an exit itself (for KVM, an emulation failure).</summary>
    InternalError,

    /// <summary>The vCPU was kicked out of the guest (watchdog, stop request).</summary>
    Interrupted,

    /// <summary>A guest time limit expired.</summary>
    Timeout,
}
