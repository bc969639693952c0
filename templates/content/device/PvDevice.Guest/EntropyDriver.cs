using ParaVirt.Abi.Virtio;
using ParaVirt.Guest.Drivers;
using ParaVirt.Guest.Virtio;

namespace TemplateNamespace.Guest;

/// <summary>
/// The guest driver of the entropy device: finds it, negotiates VIRTIO_F_VERSION_1, sets up its
/// request queue and reads random bytes through it. Every method returns a status: 0 or a count,
/// or a negative <see cref="DriverStatus"/> (or <see cref="ParaVirt.Abi.HypercallStatus"/>) code.
/// </summary>
public sealed unsafe class EntropyDriver
{
    /// <summary>The virtio device ID of an entropy source (the host device's).</summary>
    public const VirtioDeviceId EntropyId = (VirtioDeviceId)4;

    private const uint RequestQueue = 0;
    private const ushort QueueSize = 8;

    private readonly VirtioDeviceDriver _device;
    private readonly Virtqueue _queue;

    private EntropyDriver(VirtioDeviceDriver device, Virtqueue queue)
    {
        _device = device;
        _queue = queue;
    }

    /// <summary>Opens the first entropy device. Returns 0 or a negative status.</summary>
    public static int Open(out EntropyDriver driver)
    {
        driver = null;
        int s = VirtioDeviceDriver.Find(EntropyId, out VirtioDeviceDriver device);
        if (s < 0)
            return s;
        if ((s = device.Negotiate(VirtioFeatures.Mask(VirtioFeatures.Version1))) < 0)
            return s;
        if (device.Info.QueueCount < 1 || device.Info.MaxQueueSize < QueueSize)
        {
            device.Fail();
            return DriverStatus.Unsupported;
        }
        Virtqueue queue = Virtqueue.Create(QueueSize);
        if ((s = device.SetupQueue(RequestQueue, queue)) < 0)
            return s;
        if ((s = device.Start()) < 0)
            return s;
        driver = new EntropyDriver(device, queue);
        return DriverStatus.Ok;
    }

    /// <summary>
    /// Fills <paramref name="buffer"/> (guest RAM) with up to <paramref name="length"/> random bytes:
    /// one device-writable buffer, one doorbell (the device completes it before the notify returns).
    /// Returns the bytes the device wrote, or a negative status.
    /// </summary>
    public int Read(byte* buffer, uint length)
    {
        if (buffer == null || length == 0)
            return DriverStatus.BadArgument;
        VirtqBuffer request = new((ulong)buffer, length, deviceWrites: true);
        int head = _queue.Add(&request, 1);
        if (head < 0)
            return head;
        _queue.Publish();
        long notified = _device.Notify(RequestQueue);
        if (notified < 0)
            return (int)notified;
        int taken = _queue.TryTakeUsed(out uint id, out uint written);
        if (taken < 0)
            return taken;
        if (taken == 0)
            return DriverStatus.Timeout; // the device kept the buffer
        // The device is outside the guest's trust boundary too: check what it reports.
        if (id != (uint)head || written > length)
            return DriverStatus.BadRing;
        return (int)written;
    }
}
