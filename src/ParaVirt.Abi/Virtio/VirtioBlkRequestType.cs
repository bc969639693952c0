namespace ParaVirt.Abi.Virtio;

/// <summary>virtio-blk request types (<see cref="VirtioBlkReqHeader.Type"/>).</summary>
public static class VirtioBlkRequestType
{
    /// <summary><c>VIRTIO_BLK_T_IN</c>: read sectors into the device-writable data.</summary>
    public const uint In = 0;

    /// <summary><c>VIRTIO_BLK_T_OUT</c>: write the device-readable data to sectors.</summary>
    public const uint Out = 1;

    /// <summary><c>VIRTIO_BLK_T_FLUSH</c>: make every completed write durable (needs <see cref="VirtioBlkFeatures.Flush"/>).</summary>
    public const uint Flush = 4;

    /// <summary><c>VIRTIO_BLK_T_GET_ID</c>: write the device ID string (<see cref="VirtioBlkConfig.IdBytes"/> bytes, NUL padded).</summary>
    public const uint GetId = 8;
}
