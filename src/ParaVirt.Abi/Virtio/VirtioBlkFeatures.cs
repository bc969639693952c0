namespace ParaVirt.Abi.Virtio;

/// <summary>virtio-blk feature bit numbers (virtio 1.x, 5.2.3).</summary>
public static class VirtioBlkFeatures
{
    /// <summary><c>VIRTIO_BLK_F_SIZE_MAX</c>: <see cref="VirtioBlkConfig.SizeMax"/> is valid.</summary>
    public const int SizeMax = 1;

    /// <summary><c>VIRTIO_BLK_F_SEG_MAX</c>: <see cref="VirtioBlkConfig.SegMax"/> is valid.</summary>
    public const int SegMax = 2;

    /// <summary><c>VIRTIO_BLK_F_RO</c>: the disk is read-only.</summary>
    public const int ReadOnly = 5;

    /// <summary><c>VIRTIO_BLK_F_BLK_SIZE</c>: <see cref="VirtioBlkConfig.BlkSize"/> is valid.</summary>
    public const int BlkSize = 6;

    /// <summary><c>VIRTIO_BLK_F_FLUSH</c>: <see cref="VirtioBlkRequestType.Flush"/> is supported.</summary>
    public const int Flush = 9;
}
