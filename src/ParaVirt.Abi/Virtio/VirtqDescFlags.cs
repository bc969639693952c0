namespace ParaVirt.Abi.Virtio;

/// <summary>Bits of <see cref="VirtqDesc.Flags"/> (virtio 1.x, 2.7.5).</summary>
public static class VirtqDescFlags
{
    /// <summary><c>VIRTQ_DESC_F_NEXT</c>: the buffer continues via <see cref="VirtqDesc.Next"/>.</summary>
    public const ushort Next = 1;

    /// <summary><c>VIRTQ_DESC_F_WRITE</c>: the buffer is device write-only (otherwise device read-only).</summary>
    public const ushort Write = 2;

    /// <summary><c>VIRTQ_DESC_F_INDIRECT</c>: the buffer is a table of descriptors (needs <see cref="VirtioFeatures.IndirectDesc"/>).</summary>
    public const ushort Indirect = 4;
}
