namespace ParaVirt.Abi.Virtio;

/// <summary>Bits of <see cref="VirtqUsed.Flags"/>.</summary>
public static class VirtqUsedFlags
{
    /// <summary>
    /// <c>VIRTQ_USED_F_NO_NOTIFY</c>: the device does not need a notification when buffers are added.
    /// Ignored by the driver when <see cref="VirtioFeatures.EventIdx"/> is negotiated (<c>avail_event</c> rules instead).
    /// </summary>
    public const ushort NoNotify = 1;
}
