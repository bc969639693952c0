namespace ParaVirt.Abi.Virtio;

/// <summary>
/// Device-independent feature bit numbers (virtio 1.x, 6). A feature word <c>w</c> of the transport
/// holds bits <c>32 * w</c> to <c>32 * w + 31</c>; bit <c>n</c> of the 64-bit set is <c>1UL &lt;&lt; n</c>.
/// </summary>
public static class VirtioFeatures
{
    /// <summary><c>VIRTIO_F_INDIRECT_DESC</c>: the driver may use <see cref="VirtqDescFlags.Indirect"/>.</summary>
    public const int IndirectDesc = 28;

    /// <summary><c>VIRTIO_F_EVENT_IDX</c>: <c>used_event</c> / <c>avail_event</c> replace the flag-based notification suppression.</summary>
    public const int EventIdx = 29;

    /// <summary><c>VIRTIO_F_VERSION_1</c>: the device conforms to virtio 1.x. ParaVirt devices require it.</summary>
    public const int Version1 = 32;

    /// <summary>Bits 0 to 23 are device-specific (<see cref="VirtioBlkFeatures"/>, <see cref="VirtioConsoleFeatures"/>).</summary>
    public const int DeviceSpecificEnd = 24;

    /// <summary>The 64-bit mask of feature bit <paramref name="bit"/>.</summary>
    public static ulong Mask(int bit) => 1UL << bit;
}
