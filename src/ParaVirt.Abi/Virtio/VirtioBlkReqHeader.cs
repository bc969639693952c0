namespace ParaVirt.Abi.Virtio;

/// <summary>
/// The device-readable header that starts every virtio-blk request (virtio 1.x, 5.2.6
/// <c>struct virtio_blk_req</c>): 16 bytes. It is followed by the data (device-readable for
/// <see cref="VirtioBlkRequestType.Out"/>, device-writable for <see cref="VirtioBlkRequestType.In"/>
/// and <see cref="VirtioBlkRequestType.GetId"/>) and then by one device-writable status byte
/// (<see cref="VirtioBlkStatus"/>).
/// </summary>
public struct VirtioBlkReqHeader
{
    /// <summary>Size of the header in bytes.</summary>
    public const int Size = 16;

    /// <summary>Offset 0: a <see cref="VirtioBlkRequestType"/> value.</summary>
    public uint Type;

    /// <summary>Offset 4: reserved, zero.</summary>
    public uint Reserved;

    /// <summary>Offset 8: the first 512-byte sector of the transfer (IN and OUT).</summary>
    public ulong Sector;
}
