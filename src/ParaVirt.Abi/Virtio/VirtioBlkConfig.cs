namespace ParaVirt.Abi.Virtio;

/// <summary>
/// The first 24 bytes of the virtio-blk configuration space (virtio 1.x, 5.2.4
/// <c>struct virtio_blk_config</c>), read with <see cref="Hypercall.VirtioReadConfig"/>.
/// </summary>
public struct VirtioBlkConfig
{
    /// <summary>Bytes of this structure as ParaVirt exposes it.</summary>
    public const int Size = 24;

    /// <summary>Bytes of the <see cref="VirtioBlkRequestType.GetId"/> answer (<c>VIRTIO_BLK_ID_BYTES</c>).</summary>
    public const int IdBytes = 20;

    /// <summary>Offset 0: disk size in 512-byte sectors.</summary>
    public ulong Capacity;

    /// <summary>Offset 8: largest single segment in bytes (<see cref="VirtioBlkFeatures.SizeMax"/>).</summary>
    public uint SizeMax;

    /// <summary>Offset 12: most data segments per request (<see cref="VirtioBlkFeatures.SegMax"/>).</summary>
    public uint SegMax;

    /// <summary>Offset 16: geometry cylinders (unused, zero).</summary>
    public ushort Cylinders;

    /// <summary>Offset 18: geometry heads (unused, zero).</summary>
    public byte Heads;

    /// <summary>Offset 19: geometry sectors (unused, zero).</summary>
    public byte Sectors;

    /// <summary>Offset 20: the optimal block size in bytes (<see cref="VirtioBlkFeatures.BlkSize"/>).</summary>
    public uint BlkSize;
}
