namespace ParaVirt.Abi.Virtio;

/// <summary>One element of the used ring (virtio 1.x, 2.7.8 <c>struct virtq_used_elem</c>): 8 bytes.</summary>
public struct VirtqUsedElem
{
    /// <summary>Size of one element in bytes.</summary>
    public const int Size = 8;

    /// <summary>Offset 0: index of the head descriptor of the completed chain (u32 for padding reasons).</summary>
    public uint Id;

    /// <summary>Offset 4: bytes the device wrote into the chain's device-writable buffers.</summary>
    public uint Len;
}
