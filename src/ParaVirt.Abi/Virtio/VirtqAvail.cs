namespace ParaVirt.Abi.Virtio;

/// <summary>
/// The fixed head of a split virtqueue's available ring (virtio 1.x, 2.7.6 <c>struct virtq_avail</c>),
/// written by the driver, aligned to 2 bytes. It is followed by <c>ring[queue size]</c> (u16 heads)
/// at offset 4 and, with <see cref="VirtioFeatures.EventIdx"/>, by <c>used_event</c> (u16); see
/// <see cref="VirtqLayout"/> for the offsets.
/// </summary>
public struct VirtqAvail
{
    /// <summary>Offset 0: <see cref="VirtqAvailFlags"/>.</summary>
    public ushort Flags;

    /// <summary>Offset 2: where the driver will put the next head (free-running, wraps at 65536).</summary>
    public ushort Idx;
}
