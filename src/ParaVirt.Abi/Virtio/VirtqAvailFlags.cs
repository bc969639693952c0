namespace ParaVirt.Abi.Virtio;

/// <summary>Bits of <see cref="VirtqAvail.Flags"/>.</summary>
public static class VirtqAvailFlags
{
    /// <summary>
    /// <c>VIRTQ_AVAIL_F_NO_INTERRUPT</c>: the driver does not want to be told about used buffers.
    /// Ignored by the device when <see cref="VirtioFeatures.EventIdx"/> is negotiated (<c>used_event</c> rules instead).
    /// </summary>
    public const ushort NoInterrupt = 1;
}
