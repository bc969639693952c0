using System;
using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Virtio;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// The part every virtio device shares: its queues, feature negotiation and the device status state
/// machine (virtio 1.x, 3.1), driven by <see cref="VirtioTransport"/>'s hypercalls. Each operation
/// returns what the hypercall returns: a value, or a negative <see cref="HypercallStatus"/>
/// (docs/virtio.md lists every case).
/// </summary>
/// <example>
/// The driver's initialisation sequence, as the transport sees it:
/// <code>
/// device.SetStatus(VirtioDeviceStatus.Acknowledge);
/// device.SetStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver);
/// ulong offered = (ulong)device.GetFeatures(0) | (ulong)device.GetFeatures(1) &lt;&lt; 32;
/// device.SetFeatures(0, accepted &amp; 0xFFFF_FFFF);
/// device.SetFeatures(1, accepted &gt;&gt; 32);
/// long status = device.SetStatus(ack | driver | VirtioDeviceStatus.FeaturesOk);  // FEATURES_OK kept?
/// device.SetupQueue(0, desc, avail, used, 256);
/// device.SetStatus(ack | driver | featuresOk | VirtioDeviceStatus.DriverOk);
/// long completed = device.Notify(0);
/// </code>
/// </example>
/// <remarks>
/// Thread safety: every operation that reads or changes the device's state (status, features,
/// queues, configuration) runs under <see cref="Gate"/>, so the hypercalls on the vCPU thread and
/// a device thread of the asynchronous transport (<see cref="VirtioAsyncQueue"/>) never interleave:
/// a reset or a status change waits for the device thread's current notification, which its work
/// budget bounds. <see cref="Status"/> reads without it (a byte read is atomic).
/// </remarks>
public abstract class VirtioDevice
{
    /// <summary>Features every ParaVirt device offers: VERSION_1, EVENT_IDX and INDIRECT_DESC.</summary>
    public const ulong CommonFeatures =
        (1UL << VirtioFeatures.Version1) | (1UL << VirtioFeatures.EventIdx) | (1UL << VirtioFeatures.IndirectDesc);

    private const byte DriverBits =
        VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.DriverOk | VirtioDeviceStatus.Failed;

    private readonly SplitVirtqueue[] _queues;
    private readonly byte[] _config;
    private readonly Lock _gate = new();
    private byte _status;
    private ulong _driverFeatures;
    private ulong _asyncOffered; // bit q: the transport gave queue q a doorbell and a device thread
    private ulong _asyncBound;   // bit q: the driver switched queue q to them (cleared by a reset)

    /// <summary>Creates a device with <paramref name="queueCount"/> queues.</summary>
    /// <param name="memory">The VM's guest-writable memory (<see cref="ParaVirt.Core.Machine.VirtualMachine.WritableMemory"/>): rings and buffers must lie in it.</param>
    /// <param name="deviceId">The virtio device ID.</param>
    /// <param name="queueCount">Number of virtqueues.</param>
    /// <param name="maxQueueSize">The largest size of each queue (a power of two up to 32768).</param>
    /// <param name="deviceFeatures">Device-specific feature bits offered on top of <see cref="CommonFeatures"/>.</param>
    /// <param name="configSize">Bytes of configuration space.</param>
    protected VirtioDevice(GuestMemory memory, VirtioDeviceId deviceId, int queueCount, ushort maxQueueSize, ulong deviceFeatures, int configSize)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queueCount);
        ArgumentOutOfRangeException.ThrowIfNegative(configSize);
        Memory = memory;
        DeviceId = deviceId;
        MaxQueueSize = maxQueueSize;
        OfferedFeatures = CommonFeatures | deviceFeatures;
        _queues = new SplitVirtqueue[queueCount];
        for (int i = 0; i < queueCount; i++)
            _queues[i] = new SplitVirtqueue(memory, maxQueueSize);
        _config = new byte[configSize];
    }

    /// <summary>The guest memory the device's rings and buffers live in.</summary>
    public GuestMemory Memory { get; }

    /// <summary>The virtio device ID.</summary>
    public VirtioDeviceId DeviceId { get; }

    /// <summary>Number of virtqueues.</summary>
    public int QueueCount => _queues.Length;

    /// <summary>The largest size each queue accepts.</summary>
    public ushort MaxQueueSize { get; }

    /// <summary>Bytes of configuration space.</summary>
    public int ConfigSize => _config.Length;

    /// <summary>The feature bits the device offers.</summary>
    public ulong OfferedFeatures { get; }

    /// <summary>The feature bits the driver has written (accepted once FEATURES_OK is set).</summary>
    public ulong DriverFeatures => _driverFeatures;

    /// <summary>The device status byte (<see cref="VirtioDeviceStatus"/> bits).</summary>
    public byte Status => Volatile.Read(ref _status);

    /// <summary>
    /// The device's lock: held by every state operation and by a device thread while it processes a
    /// queue. Taking it is allocation-free (<see cref="Lock"/>) and re-entrant.
    /// </summary>
    protected internal Lock Gate => _gate;

    /// <summary>Whether the device reported DEVICE_NEEDS_RESET.</summary>
    public bool NeedsReset => (Status & VirtioDeviceStatus.DeviceNeedsReset) != 0;

    /// <summary>
    /// Asked between chains by devices whose notifications do bounded but sizeable work: true
    /// stops the notification early, leaving the remaining chains available. <see cref="VirtioTransport.Attach"/>
    /// sets it to the VM's stop request (watchdog, host); null: never.
    /// </summary>
    public Func<bool>? StopRequested { get; set; }

    /// <summary>Whether <see cref="StopRequested"/> says stop.</summary>
    protected bool IsStopRequested => StopRequested is { } stop && stop();

    /// <summary>Queue <paramref name="index"/>.</summary>
    public SplitVirtqueue GetQueue(int index) => _queues[index];

    /// <summary>Whether feature bit <paramref name="bit"/> was negotiated (offered, accepted, FEATURES_OK set).</summary>
    public bool IsNegotiated(int bit) =>
        (_status & VirtioDeviceStatus.FeaturesOk) != 0 && (_driverFeatures & (1UL << bit)) != 0;

    /// <summary>Returns offered feature word <paramref name="word"/> (bits 32·word to 32·word + 31); words past 1 are 0.</summary>
    public long GetFeatures(ulong word) => word switch
    {
        0 => (long)(OfferedFeatures & 0xFFFF_FFFF),
        1 => (long)(OfferedFeatures >> 32),
        _ => 0,
    };

    /// <summary>
    /// Stores driver feature word <paramref name="word"/>. Allowed while DRIVER is set and FEATURES_OK
    /// is not; the subset check happens when the driver sets FEATURES_OK.
    /// </summary>
    public long SetFeatures(ulong word, ulong bits)
    {
        if (word > 1 || bits > 0xFFFF_FFFF)
            return (long)HypercallStatus.InvalidArgument;
        using Lock.Scope scope = _gate.EnterScope();
        if ((_status & VirtioDeviceStatus.Driver) == 0 || (_status & (VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.Failed)) != 0)
            return (long)HypercallStatus.NotPermitted;
        int shift = (int)word * 32;
        _driverFeatures = (_driverFeatures & ~(0xFFFF_FFFFUL << shift)) | (bits << shift);
        return 0;
    }

    /// <summary>
    /// Writes the device status. 0 resets the device. Otherwise the write may only add driver bits, in
    /// order (ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK; FAILED at any time); DEVICE_NEEDS_RESET in
    /// the value is ignored (it is the device's). FEATURES_OK is kept only if the driver's features are
    /// a subset of the offered ones and include VERSION_1; DRIVER_OK needs every queue set up.
    /// </summary>
    /// <returns>The status the device holds afterwards (the driver checks FEATURES_OK in it), or an error.</returns>
    public long SetStatus(ulong value)
    {
        if (value > 0xFF)
            return (long)HypercallStatus.InvalidArgument;
        if (value == 0)
        {
            Reset();
            return 0;
        }
        using Lock.Scope scope = _gate.EnterScope();
        byte requested = (byte)(value & DriverBits);
        byte current = (byte)(_status & DriverBits);
        if ((current & ~requested) != 0)
            return (long)HypercallStatus.InvalidArgument;  // only a reset clears bits
        byte added = (byte)(requested & ~current);
        if (!InOrder(requested))
            return (long)HypercallStatus.NotPermitted;
        if ((added & VirtioDeviceStatus.DriverOk) != 0 && !AllQueuesReady())
            return (long)HypercallStatus.NotPermitted;
        if ((added & VirtioDeviceStatus.FeaturesOk) != 0 && !AcceptFeatures())
        {
            requested &= unchecked((byte)~VirtioDeviceStatus.FeaturesOk);
            if ((requested & VirtioDeviceStatus.DriverOk) != 0)
                return (long)HypercallStatus.NotPermitted;
        }
        Volatile.Write(ref _status, (byte)(requested | (_status & VirtioDeviceStatus.DeviceNeedsReset)));
        return _status;
    }

    /// <summary>
    /// Sets up queue <paramref name="queue"/>. Allowed after FEATURES_OK and before DRIVER_OK.
    /// </summary>
    public long SetupQueue(ulong queue, ulong descTable, ulong availRing, ulong usedRing, ulong size)
    {
        if (queue >= (ulong)_queues.Length)
            return (long)HypercallStatus.InvalidArgument;
        using Lock.Scope scope = _gate.EnterScope();
        if (!InSetupPhase())
            return (long)HypercallStatus.NotPermitted;
        if (size > VirtqLayout.MaxQueueSize)
            return (long)HypercallStatus.InvalidArgument;
        SplitVirtqueue q = _queues[queue];
        q.EventIdx = IsNegotiated(VirtioFeatures.EventIdx);
        q.IndirectDescriptors = IsNegotiated(VirtioFeatures.IndirectDesc);
        return q.Setup(descTable, availRing, usedRing, (uint)size) switch
        {
            VirtqueueError.None => 0,
            VirtqueueError.RingOutsideMemory => (long)HypercallStatus.BadAddress,
            _ => (long)HypercallStatus.InvalidArgument,  // InvalidSize, RingMisaligned
        };
    }

    /// <summary>
    /// Processes queue <paramref name="queue"/> now and returns the number of chains completed. A
    /// device may stop at its per-notification limit and leave chains available for the next call.
    /// A ring violation sets DEVICE_NEEDS_RESET and returns <see cref="HypercallStatus.NotPermitted"/>
    /// (chains completed before it stay in the used ring).
    /// </summary>
    public long Notify(ulong queue)
    {
        if (queue >= (ulong)_queues.Length)
            return (long)HypercallStatus.InvalidArgument;
        using Lock.Scope scope = _gate.EnterScope();
        if (!IsLive())
            return (long)HypercallStatus.NotPermitted;
        int completed = ProcessQueue((int)queue, _queues[queue]);
        if (_queues[queue].Error != VirtqueueError.None)
        {
            MarkNeedsReset();
            return (long)HypercallStatus.NotPermitted;
        }
        return completed;
    }

    /// <summary>
    /// Copies <paramref name="length"/> bytes of configuration space from <paramref name="offset"/> to
    /// guest address <paramref name="address"/>; returns the count.
    /// </summary>
    public long ReadConfig(ulong offset, ulong address, ulong length)
    {
        if (offset > (ulong)_config.Length || length > (ulong)_config.Length - offset)
            return (long)HypercallStatus.InvalidArgument;
        using Lock.Scope scope = _gate.EnterScope();
        FillConfig(_config);
        if (!Memory.TryWrite(address, _config.AsSpan((int)offset, (int)length)))
            return (long)HypercallStatus.BadAddress;
        return (long)length;
    }

    /// <summary>Sets DEVICE_NEEDS_RESET: the device stops processing until the driver writes status 0.</summary>
    public void MarkNeedsReset()
    {
        using Lock.Scope scope = _gate.EnterScope();
        Volatile.Write(ref _status, (byte)(_status | VirtioDeviceStatus.DeviceNeedsReset));
    }

    /// <summary>Resets the device: status 0, no features, every queue forgotten, every queue back on the synchronous transport.</summary>
    public void Reset()
    {
        using Lock.Scope scope = _gate.EnterScope();
        Volatile.Write(ref _status, (byte)0);
        _driverFeatures = 0;
        _asyncBound = 0;
        foreach (SplitVirtqueue q in _queues)
            q.Reset();
        OnReset();
    }

    /// <summary>Whether queue <paramref name="queue"/> has a doorbell and device thread the driver may bind (<see cref="BindAsync"/>).</summary>
    public bool OffersAsync(int queue) => (uint)queue < (uint)_queues.Length && (Volatile.Read(ref _asyncOffered) & (1UL << queue)) != 0;

    /// <summary>Whether the driver switched queue <paramref name="queue"/> to the asynchronous transport.</summary>
    public bool IsAsyncBound(int queue) => (uint)queue < (uint)_queues.Length && (Volatile.Read(ref _asyncBound) & (1UL << queue)) != 0;

    /// <summary>Marks queue <paramref name="queue"/> as served by a device thread (the transport calls this once it has a doorbell for it).</summary>
    internal void OfferAsync(int queue)
    {
        using Lock.Scope scope = _gate.EnterScope();
        _asyncOffered |= 1UL << queue;
    }

    /// <summary>
    /// The driver's <see cref="Hypercall.VirtioBindAsyncQueue"/>: from now until a reset, the device
    /// thread processes queue <paramref name="queue"/> when its doorbell rings. Allowed after
    /// FEATURES_OK and before DRIVER_OK, as queue setup; refused with NotPermitted for a queue the
    /// transport serves synchronously only.
    /// </summary>
    public long BindAsync(ulong queue)
    {
        if (queue >= (ulong)_queues.Length)
            return (long)HypercallStatus.InvalidArgument;
        using Lock.Scope scope = _gate.EnterScope();
        if (!InSetupPhase() || (_asyncOffered & (1UL << (int)queue)) == 0)
            return (long)HypercallStatus.NotPermitted;
        _asyncBound |= 1UL << (int)queue;
        return 0;
    }

    /// <summary>
    /// A device thread's turn on queue <paramref name="queue"/> after its doorbell rang: under
    /// <see cref="Gate"/> and a lease on the guest memory, processes the queue exactly as a
    /// <see cref="Notify"/> would (same code, same budget). Does nothing unless the queue is bound
    /// to the asynchronous transport and the device is live. Never throws on guest input.
    /// </summary>
    internal AsyncServeResult ServeAsync(int queue)
    {
        using Lock.Scope scope = _gate.EnterScope();
        if ((_asyncBound & (1UL << queue)) == 0 || !IsLive())
            return AsyncServeResult.Idle;
        // The lease keeps guest RAM mapped while this thread dereferences the queue's cached ring
        // pointers and the buffers' spans; a closed memory refuses it and the thread stops.
        using GuestMemoryLease lease = Memory.Lease();
        if (!lease.IsHeld)
            return AsyncServeResult.MemoryClosed;
        SplitVirtqueue q = _queues[queue];
        int completed = ProcessQueue(queue, q);
        if (q.Error == VirtqueueError.MemoryClosed)
            return AsyncServeResult.MemoryClosed;
        if (q.Error != VirtqueueError.None)
        {
            MarkNeedsReset();
            return AsyncServeResult.NeedsReset;
        }
        AsyncServeResult result = AsyncServeResult.Idle;
        // NeedsNotification applies the driver's suppression (used_event with EVENT_IDX, otherwise
        // VIRTQ_AVAIL_F_NO_INTERRUPT); it is asked only when chains were completed.
        if (completed > 0 && q.NeedsNotification())
            result |= AsyncServeResult.Notify;
        if (!IsStopRequested && q.HasAvailable())
            result |= AsyncServeResult.MorePending; // the device stopped at its budget
        if (q.Error != VirtqueueError.None)
        {
            if (q.Error == VirtqueueError.MemoryClosed)
                return AsyncServeResult.MemoryClosed;
            MarkNeedsReset();
            return AsyncServeResult.NeedsReset;
        }
        return result;
    }

    /// <summary>
    /// Processes the chains available on <paramref name="queue"/> (queue number <paramref name="index"/>),
    /// synchronously, and returns how many it completed. On a ring violation the queue's
    /// <see cref="SplitVirtqueue.Error"/> is set and <see cref="SplitVirtqueue.TryPop"/> returns false:
    /// just stop. Must not throw on anything the guest controls, and must not allocate.
    /// </summary>
    protected abstract int ProcessQueue(int index, SplitVirtqueue queue);

    /// <summary>Writes the current configuration space into <paramref name="config"/> (<see cref="ConfigSize"/> bytes).</summary>
    protected abstract void FillConfig(Span<byte> config);

    /// <summary>Called after a reset to drop device-specific state.</summary>
    protected virtual void OnReset()
    {
    }

    /// <summary>FEATURES_OK set, DRIVER_OK, FAILED and DEVICE_NEEDS_RESET not: queues may be set up and bound.</summary>
    private bool InSetupPhase() =>
        (_status & VirtioDeviceStatus.FeaturesOk) != 0
        && (_status & (VirtioDeviceStatus.DriverOk | VirtioDeviceStatus.Failed | VirtioDeviceStatus.DeviceNeedsReset)) == 0;

    /// <summary>DRIVER_OK set, FAILED and DEVICE_NEEDS_RESET not: queues may be processed.</summary>
    private bool IsLive() =>
        (_status & VirtioDeviceStatus.DriverOk) != 0
        && (_status & (VirtioDeviceStatus.Failed | VirtioDeviceStatus.DeviceNeedsReset)) == 0;

    private static bool InOrder(byte status)
    {
        static bool Has(byte s, byte bit) => (s & bit) != 0;
        if (Has(status, VirtioDeviceStatus.Driver) && !Has(status, VirtioDeviceStatus.Acknowledge))
            return false;
        if (Has(status, VirtioDeviceStatus.FeaturesOk) && !Has(status, VirtioDeviceStatus.Driver))
            return false;
        if (Has(status, VirtioDeviceStatus.DriverOk) && !Has(status, VirtioDeviceStatus.FeaturesOk))
            return false;
        return true;
    }

    private bool AcceptFeatures() =>
        (_driverFeatures & ~OfferedFeatures) == 0 && (_driverFeatures & (1UL << VirtioFeatures.Version1)) != 0;

    private bool AllQueuesReady()
    {
        foreach (SplitVirtqueue q in _queues)
            if (!q.IsReady)
                return false;
        return true;
    }
}
