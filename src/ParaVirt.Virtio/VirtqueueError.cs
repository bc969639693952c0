namespace ParaVirt.Virtio;

/// <summary>
/// Why a <see cref="SplitVirtqueue"/> refused a setup or stopped processing. Setup errors
/// (<see cref="InvalidSize"/>, <see cref="RingOutsideMemory"/>, <see cref="RingMisaligned"/>) are
/// returned by <see cref="SplitVirtqueue.Setup"/> and leave the queue not ready; every other value is
/// a violation found in the rings at run time: it sticks in <see cref="SplitVirtqueue.Error"/> until
/// <see cref="SplitVirtqueue.Reset"/>, and the device owning the queue reports DEVICE_NEEDS_RESET.
/// <see cref="MemoryClosed"/> (the memory went away under the queue) is sticky the same way.
/// </summary>
public enum VirtqueueError
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>Setup: the size is zero, not a power of two, or larger than the queue's maximum.</summary>
    InvalidSize,

    /// <summary>Setup: the descriptor table, available ring or used ring is not entirely inside one guest memory region.</summary>
    RingOutsideMemory,

    /// <summary>Setup: a ring area is not aligned (descriptor table 16, available ring 2, used ring 4).</summary>
    RingMisaligned,

    /// <summary>The available index ran more than the queue size ahead of the last index the device consumed.</summary>
    AvailIndexTooFarAhead,

    /// <summary>An available ring entry names a head descriptor outside the table.</summary>
    HeadOutOfRange,

    /// <summary>A descriptor's <c>next</c> names an entry outside its table (the queue's, or an indirect table's).</summary>
    NextOutOfRange,

    /// <summary>A chain holds more descriptors than the queue size (a loop, or simply too long).</summary>
    ChainTooLong,

    /// <summary>A descriptor's address and length leave guest memory or overflow 2^64.</summary>
    DescriptorOutsideMemory,

    /// <summary>A descriptor has <c>VIRTQ_DESC_F_INDIRECT</c> but VIRTIO_F_INDIRECT_DESC was not negotiated.</summary>
    IndirectNotNegotiated,

    /// <summary>A descriptor has both <c>VIRTQ_DESC_F_INDIRECT</c> and <c>VIRTQ_DESC_F_NEXT</c>.</summary>
    IndirectWithNext,

    /// <summary>A descriptor inside an indirect table has <c>VIRTQ_DESC_F_INDIRECT</c> (nested tables).</summary>
    NestedIndirect,

    /// <summary>An indirect table's length is zero, not a multiple of 16, or holds more than <see cref="SplitVirtqueue.MaxIndirectTableEntries"/> entries.</summary>
    IndirectTableLength,

    /// <summary>
    /// Not a guest violation: the guest memory was closed (the VM is being disposed) and the queue
    /// could not take a lease on it. The queue stops touching the rings; nothing was read or written.
    /// </summary>
    MemoryClosed,
}
