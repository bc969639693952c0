namespace ParaVirt.Core.Machine;

/// <summary>The kinds of reasons a VM stops.</summary>
public enum VmStopKind
{
    /// <summary>The guest shut itself down (hypercall or return from its entry) with an exit code.</summary>
    GuestShutdown,

    /// <summary>The guest raised an exception no handler took (a privileged instruction, a page fault, ...).</summary>
    UnhandledTrap,

    /// <summary>The VM shut down by triple fault.</summary>
    TripleFault,

    /// <summary>The hardware refused to enter the guest.</summary>
    EntryFailure,

    /// <summary>The engine failed (an emulation failure, an unexpected exit, a failed ioctl).</summary>
    EngineError,

    /// <summary>The watchdog stopped a guest that ran past its time limit.</summary>
    Timeout,

    /// <summary>A device or hypercall handler threw: the VM stops, the host goes on.</summary>
    HostError,

    /// <summary>The guest broke a platform rule (for instance, an exit from an address it does not own).</summary>
    GuestError,

    /// <summary>The host asked the VM to stop.</summary>
    StopRequested,

    /// <summary>The vCPU halted with nothing that could wake it.</summary>
    Halted,
}

/// <summary>Why a VM stopped, with the guest's exit code where it gave one.</summary>
/// <param name="Kind">The kind of stop.</param>
/// <param name="ExitCode">The guest's exit code for <see cref="VmStopKind.GuestShutdown"/>; otherwise -1.</param>
/// <param name="Message">One line a person can read.</param>
public sealed record VmStopReason(VmStopKind Kind, int ExitCode, string Message)
{
    /// <summary>The exit code of the guest runtime's fail-fast (an index out of range, out of heap, ...), as a process killed by SIGABRT.</summary>
    public const int FailFastExitCode = 134;

    /// <summary>Whether the guest runtime stopped the guest with a fail-fast (exit code 134, reason "guest fail-fast: ...").</summary>
    public bool IsFailFast => Kind == VmStopKind.GuestShutdown && ExitCode == FailFastExitCode && Message.StartsWith("guest fail-fast: ", System.StringComparison.Ordinal);

    /// <summary>Whether the guest crashed: an unhandled trap, a fail-fast, a triple fault or a broken platform rule.</summary>
    public bool IsCrash => IsFailFast || Kind is VmStopKind.UnhandledTrap or VmStopKind.TripleFault or VmStopKind.GuestError;

    /// <summary>Whether the guest ended by itself with exit code 0.</summary>
    public bool IsCleanExit => Kind == VmStopKind.GuestShutdown && ExitCode == 0;

    /// <inheritdoc />
    public override string ToString() => $"{Kind}: {Message}";
}
