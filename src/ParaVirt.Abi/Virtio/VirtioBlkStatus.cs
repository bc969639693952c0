namespace ParaVirt.Abi.Virtio;

/// <summary>virtio-blk request status, the last (device-writable) byte of a request.</summary>
public static class VirtioBlkStatus
{
    /// <summary><c>VIRTIO_BLK_S_OK</c>.</summary>
    public const byte Ok = 0;

    /// <summary><c>VIRTIO_BLK_S_IOERR</c>: a malformed request, a sector range past the end of the disk, or a host I/O error.</summary>
    public const byte IoErr = 1;

    /// <summary><c>VIRTIO_BLK_S_UNSUPP</c>: an unknown request type.</summary>
    public const byte Unsupp = 2;
}
