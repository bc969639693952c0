using System;

namespace ParaVirt.Devices.Virtio;

/// <summary>What one turn of a device thread on a queue found (<see cref="VirtioDevice"/>'s ServeAsync).</summary>
[Flags]
internal enum AsyncServeResult
{
    /// <summary>Nothing to tell: no chain completed that the driver wants to hear about.</summary>
    Idle = 0,

    /// <summary>Chains were completed and the driver's suppression fields ask for an event.</summary>
    Notify = 1,

    /// <summary>The device stopped at its per-notification budget with chains still available.</summary>
    MorePending = 2,

    /// <summary>A ring violation: the device set DEVICE_NEEDS_RESET.</summary>
    NeedsReset = 4,

    /// <summary>The guest memory is closed (the VM is being disposed): the thread stops.</summary>
    MemoryClosed = 8,
}
