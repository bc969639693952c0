namespace ParaVirt.Abi.Virtio;

/// <summary>
/// What <see cref="Hypercall.VirtioDeviceInfo"/> writes at the guest's address: 16 bytes describing
/// device <c>index</c> of the hypercall transport.
/// </summary>
public struct VirtioDeviceInfo
{
    /// <summary>Bytes of this structure.</summary>
    public const int Size = 16;

    /// <summary>Offset 0: a <see cref="Virtio.VirtioDeviceId"/> value.</summary>
    public uint DeviceId;

    /// <summary>Offset 4: number of virtqueues (indices 0 to QueueCount - 1).</summary>
    public ushort QueueCount;

    /// <summary>Offset 6: the largest queue size the device accepts for each queue (a power of two).</summary>
    public ushort MaxQueueSize;

    /// <summary>Offset 8: bytes of device configuration space (<see cref="Hypercall.VirtioReadConfig"/>).</summary>
    public uint ConfigSize;

    /// <summary>Offset 12: reserved, zero.</summary>
    public uint Reserved;
}
