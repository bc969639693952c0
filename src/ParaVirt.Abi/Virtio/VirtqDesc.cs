namespace ParaVirt.Abi.Virtio;

/// <summary>
/// One entry of a split virtqueue's descriptor table (virtio 1.x, 2.7.5 <c>struct virtq_desc</c>):
/// 16 bytes, little-endian, the table aligned to 16 bytes.
/// </summary>
public struct VirtqDesc
{
    /// <summary>Size of one descriptor in bytes.</summary>
    public const int Size = 16;

    /// <summary>Offset 0: guest-physical address of the buffer (or of an indirect table).</summary>
    public ulong Addr;

    /// <summary>Offset 8: length of the buffer in bytes (of the table, for an indirect descriptor).</summary>
    public uint Len;

    /// <summary>Offset 12: <see cref="VirtqDescFlags"/>.</summary>
    public ushort Flags;

    /// <summary>Offset 14: index of the next descriptor when <see cref="VirtqDescFlags.Next"/> is set.</summary>
    public ushort Next;
}
