namespace ParaVirt.Guest.Virtio;

/// <summary>One buffer of a chain the driver offers: guest address, length, and whether the device writes it.</summary>
/// <example><code>
/// VirtqBuffer* chain = stackalloc VirtqBuffer[3];
/// chain[0] = new VirtqBuffer((ulong)header, 16, deviceWrites: false);
/// chain[1] = new VirtqBuffer((ulong)data, 4096, deviceWrites: false);
/// chain[2] = new VirtqBuffer((ulong)status, 1, deviceWrites: true);
/// int head = queue.Add(chain, 3);
/// </code></example>
public struct VirtqBuffer
{
    /// <summary>Guest-physical address (guests are identity mapped).</summary>
    public ulong Address;

    /// <summary>Length in bytes.</summary>
    public uint Length;

    /// <summary>True for a device-writable buffer (VIRTQ_DESC_F_WRITE).</summary>
    public bool DeviceWrites;

    /// <summary>Creates a buffer description.</summary>
    public VirtqBuffer(ulong address, uint length, bool deviceWrites)
    {
        Address = address;
        Length = length;
        DeviceWrites = deviceWrites;
    }
}
