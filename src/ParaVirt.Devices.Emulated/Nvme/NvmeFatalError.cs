namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>
/// Why the controller set CSTS.CFS (Controller Fatal Status). Sticky until the driver resets the
/// controller (CC.EN written 0), as NVMe requires of a fatal status: the controller processes no
/// command meanwhile, and every register read still answers. Errors a command can report in its own
/// completion (a bad PRP, an LBA out of range, an unknown opcode) are completion statuses instead.
/// </summary>
public enum NvmeFatalError
{
    /// <summary>No fatal error.</summary>
    None = 0,

    /// <summary>
    /// Enable: CC asks for something the controller does not offer (an I/O command set other than
    /// NVM, a page size other than 4 KiB, weighted arbitration, SQ/CQ entry sizes other than 64/16).
    /// </summary>
    UnsupportedConfiguration,

    /// <summary>Enable: AQA names an admin queue of fewer than 2 or more than CAP.MQES + 1 entries.</summary>
    InvalidAdminQueueSize,

    /// <summary>Enable: ASQ or ACQ is not page aligned, or the admin queue leaves guest memory.</summary>
    InvalidAdminQueueAddress,

    /// <summary>A doorbell of a queue that does not exist was written.</summary>
    InvalidDoorbell,

    /// <summary>A submission queue tail doorbell was written with a value at or past the queue size.</summary>
    SubmissionTailOutOfRange,

    /// <summary>
    /// A completion queue head doorbell was written with a value at or past the queue size, or one
    /// that moves the head past entries the controller never posted (a driver that lost track of
    /// the phase tag).
    /// </summary>
    CompletionHeadOutOfRange,

    /// <summary>
    /// Not a guest violation: the guest memory was closed (the VM is being disposed) and the
    /// controller could not read a queue entry or post a completion. Nothing was read or written.
    /// </summary>
    MemoryClosed,
}
