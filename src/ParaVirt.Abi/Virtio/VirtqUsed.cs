namespace ParaVirt.Abi.Virtio;

/// <summary>
/// The fixed head of a split virtqueue's used ring (virtio 1.x, 2.7.8 <c>struct virtq_used</c>),
/// written by the device, aligned to 4 bytes. It is followed by <c>ring[queue size]</c>
/// (<see cref="VirtqUsedElem"/>) at offset 4 and, with <see cref="VirtioFeatures.EventIdx"/>, by
/// <c>avail_event</c> (u16); see <see cref="VirtqLayout"/> for the offsets.
/// </summary>
public struct VirtqUsed
{
    /// <summary>Offset 0: <see cref="VirtqUsedFlags"/>.</summary>
    public ushort Flags;

    /// <summary>Offset 2: where the device will put the next used element (free-running, wraps at 65536).</summary>
    public ushort Idx;
}
