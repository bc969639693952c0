namespace ParaVirt.Guest.Virtio;

/// <summary>How a virtio driver talks to its device, chosen when it opens the device.</summary>
public enum VirtioTransportMode
{
    /// <summary>The synchronous hypercall transport: <c>VirtioNotify</c> (one exit) and the device completes the batch inside it.</summary>
    Hypercall = 0,

    /// <summary>
    /// Asynchronous: the doorbell (no exit on KVM) and a device thread; the driver waits by polling
    /// the used ring, with completion events suppressed. No exit per request.
    /// </summary>
    AsyncPoll = 1,

    /// <summary>
    /// Asynchronous: the doorbell and a device thread; the driver asks for an event when the
    /// requests it waits for are used (<c>used_event</c>) and waits in <c>SchedOp(block)</c>: the
    /// vCPU gives its CPU away, at the price of the block's exit.
    /// </summary>
    AsyncBlock = 2,
}
