using ParaVirt.Abi.Virtio;
using ParaVirt.Guest.Drivers;

namespace ParaVirt.Guest.Virtio;

/// <summary>
/// The transport driver of one virtio device over hypercalls 16 to 24: discovery, the virtio
/// initialisation sequence (spec 3.1.1: reset, ACKNOWLEDGE, DRIVER, feature negotiation,
/// FEATURES_OK and its check, queue setup, DRIVER_OK), the doorbell and config reads. Every method
/// returns a status: <see cref="DriverStatus"/> codes or a negative
/// <see cref="ParaVirt.Abi.HypercallStatus"/> passed through.
/// </summary>
/// <example><code>
/// if (VirtioDeviceDriver.Find(VirtioDeviceId.Block, out VirtioDeviceDriver dev) &lt; 0) return -1;
/// int s = dev.Negotiate(VirtioFeatures.Mask(VirtioFeatures.Version1));  // reset .. FEATURES_OK
/// if (s == 0) s = dev.SetupQueue(0, Virtqueue.Create(128));
/// if (s == 0) s = dev.Start();                                           // DRIVER_OK
/// </code></example>
public sealed unsafe class VirtioDeviceDriver
{
    private byte _status;

    private VirtioDeviceDriver(uint index, VirtioDeviceInfo info)
    {
        Index = index;
        Info = info;
    }

    /// <summary>The device's transport index (the <c>dev</c> argument of the hypercalls).</summary>
    public uint Index { get; }

    /// <summary>What the device reported: ID, queue count, maximum queue size, config size.</summary>
    public VirtioDeviceInfo Info { get; }

    /// <summary>The features both sides agreed on (valid after <see cref="Negotiate"/>).</summary>
    public ulong Features { get; private set; }

    /// <summary>
    /// Finds the first device with ID <paramref name="id"/>. Returns 0, or
    /// <see cref="DriverStatus.NoDevice"/>, or a hypercall status.
    /// </summary>
    public static int Find(VirtioDeviceId id, out VirtioDeviceDriver device)
    {
        device = null;
        long count = VirtioHypercalls.DeviceCount();
        if (count < 0)
            return (int)count;
        VirtioDeviceInfo info;
        for (uint i = 0; i < count; i++)
        {
            long r = VirtioHypercalls.DeviceInfo(i, &info);
            if (r < 0)
                return (int)r;
            if (info.DeviceId == (uint)id)
            {
                device = new VirtioDeviceDriver(i, info);
                return DriverStatus.Ok;
            }
        }
        return DriverStatus.NoDevice;
    }

    /// <summary>
    /// Resets the device and negotiates: ACKNOWLEDGE, DRIVER, reads the offered 64 bits, accepts
    /// <c>offered &amp; wanted</c>, sets FEATURES_OK and re-reads the status to check it stuck.
    /// VIRTIO_F_VERSION_1 is required. On a refusal the device is marked FAILED.
    /// </summary>
    public int Negotiate(ulong wanted)
    {
        int s = WriteStatus(0);
        if (s < 0)
            return s;
        if ((s = WriteStatus(VirtioDeviceStatus.Acknowledge)) < 0)
            return s;
        if ((s = WriteStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver)) < 0)
            return s;
        long low = VirtioHypercalls.GetFeatures(Index, 0);
        if (low < 0)
            return (int)low;
        long high = VirtioHypercalls.GetFeatures(Index, 1);
        if (high < 0)
            return (int)high;
        ulong offered = (uint)low | ((ulong)(uint)high << 32);
        ulong accepted = offered & wanted;
        if ((accepted & VirtioFeatures.Mask(VirtioFeatures.Version1)) == 0)
        {
            Fail();
            return DriverStatus.Unsupported;
        }
        long r = VirtioHypercalls.SetFeatures(Index, 0, (uint)accepted);
        if (r < 0)
            return (int)r;
        if ((r = VirtioHypercalls.SetFeatures(Index, 1, (uint)(accepted >> 32))) < 0)
            return (int)r;
        if ((s = WriteStatus((byte)(_status | VirtioDeviceStatus.FeaturesOk))) < 0)
            return s;
        long check = VirtioHypercalls.GetStatus(Index);
        if (check < 0)
            return (int)check;
        if ((check & VirtioDeviceStatus.FeaturesOk) == 0)
        {
            Fail();
            return DriverStatus.FeaturesRejected;
        }
        Features = accepted;
        return DriverStatus.Ok;
    }

    /// <summary>Whether feature <paramref name="bit"/> was negotiated.</summary>
    public bool Has(int bit) => (Features & VirtioFeatures.Mask(bit)) != 0;

    /// <summary>Hands queue <paramref name="queueIndex"/>'s rings to the device.</summary>
    public int SetupQueue(uint queueIndex, Virtqueue queue)
    {
        if (queue is null)
            return DriverStatus.BadArgument;
        if (queue.Size > Info.MaxQueueSize)
            return DriverStatus.Unsupported;
        long r = VirtioHypercalls.SetupQueue(Index, queueIndex, queue.DescriptorTableAddress, queue.AvailableRingAddress, queue.UsedRingAddress, queue.Size);
        return r < 0 ? (int)r : DriverStatus.Ok;
    }

    /// <summary>
    /// Switches queue <paramref name="queueIndex"/> to the asynchronous transport (after
    /// <see cref="Negotiate"/>, before <see cref="Start"/>): from then on the driver rings
    /// <paramref name="doorbell"/> instead of calling <see cref="Notify"/>, and the device completes
    /// requests on its own thread. Returns 0, or <see cref="DriverStatus.Unsupported"/> when the host
    /// has no asynchronous transport for the queue (then the queue stays synchronous).
    /// </summary>
    public int BindAsync(uint queueIndex, out VirtioDoorbell doorbell)
    {
        doorbell = null;
        if ((Hypercalls.GetFeatures() & ParaVirt.Abi.HypercallFeatures.VirtioAsync) == 0)
            return DriverStatus.Unsupported;
        long r = VirtioHypercalls.BindAsyncQueue(Index, queueIndex);
        if (r == (long)ParaVirt.Abi.HypercallStatus.NotPermitted || r == (long)ParaVirt.Abi.HypercallStatus.UnknownHypercall)
            return DriverStatus.Unsupported;
        if (r < 0)
            return (int)r;
        doorbell = new VirtioDoorbell(r);
        return DriverStatus.Ok;
    }

    /// <summary>Sets DRIVER_OK: the device is live. Returns 0, or NotPermitted when a queue is missing.</summary>
    public int Start()
    {
        int s = WriteStatus((byte)(_status | VirtioDeviceStatus.DriverOk));
        if (s < 0)
            return s;
        return (_status & VirtioDeviceStatus.DriverOk) != 0 ? DriverStatus.Ok : DriverStatus.DeviceError;
    }

    /// <summary>
    /// The doorbell for <paramref name="queueIndex"/>: one exit, the device processes the queue
    /// synchronously. Returns the chains completed, or <see cref="DriverStatus.NeedsReset"/> when the
    /// device refused because it needs a reset, or another negative status.
    /// </summary>
    public long Notify(uint queueIndex)
    {
        long r = VirtioHypercalls.Notify(Index, queueIndex);
        if (r == (long)ParaVirt.Abi.HypercallStatus.NotPermitted && (ReadStatus() & VirtioDeviceStatus.DeviceNeedsReset) != 0)
            return DriverStatus.NeedsReset;
        return r;
    }

    /// <summary>The device's status byte as the device holds it now (one exit), or a negative status.</summary>
    public long ReadStatus() => VirtioHypercalls.GetStatus(Index);

    /// <summary>Copies <paramref name="length"/> config bytes from <paramref name="offset"/> to <paramref name="destination"/>.</summary>
    public int ReadConfig(uint offset, void* destination, uint length)
    {
        long r = VirtioHypercalls.ReadConfig(Index, offset, destination, length);
        return r < 0 ? (int)r : DriverStatus.Ok;
    }

    /// <summary>Sets FAILED: the driver gave up on the device.</summary>
    public void Fail() => WriteStatus((byte)(_status | VirtioDeviceStatus.Failed));

    /// <summary>Resets the device (status 0); queues must be set up again.</summary>
    public int Reset() => WriteStatus(0);

    private int WriteStatus(byte value)
    {
        long r = VirtioHypercalls.SetStatus(Index, value);
        if (r < 0)
            return (int)r;
        _status = (byte)r;
        return DriverStatus.Ok;
    }
}
