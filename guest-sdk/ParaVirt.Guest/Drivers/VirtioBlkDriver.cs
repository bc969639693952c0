using Internal.Runtime;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Guest.Virtio;

namespace ParaVirt.Guest.Drivers;

/// <summary>
/// A virtio-blk driver with up to <see cref="QueueDepth"/> requests in flight. Each request is a
/// three-buffer chain <c>[header R 16][data][status W 1]</c>. The caller submits requests (no exit),
/// rings the doorbell once for the whole batch (<see cref="Kick"/>), waits for completions
/// (<see cref="WaitForCompletions"/>), then reaps them from the used ring (<see cref="Reap"/>: no
/// exit), each with its status byte checked. The transport is chosen at <see cref="Open"/>:
/// <list type="bullet">
/// <item><see cref="VirtioTransportMode.Hypercall"/>: the doorbell is <c>VirtioNotify</c>, one
/// exit, and the device completes the batch during it;</item>
/// <item><see cref="VirtioTransportMode.AsyncPoll"/> / <see cref="VirtioTransportMode.AsyncBlock"/>:
/// the doorbell is an <c>out</c> to the queue's ioeventfd port (no exit), honouring the device's
/// <c>avail_event</c>; a device thread completes the requests, and the driver polls the used ring
/// (events suppressed) or blocks in <c>SchedOp(block)</c> until the queue's event channel is raised.</item>
/// </list>
/// </summary>
/// <example><code>
/// if (VirtioBlkDriver.Open(out VirtioBlkDriver disk) &lt; 0) return 1;
/// for (int i = 0; i &lt; 32; i++) disk.Submit(VirtioBlkRequestType.Out, (ulong)i * 8, buffers[i], 4096);
/// disk.Kick();                                            // one exit for 32 requests
/// while (disk.Reap(out int slot, out int status) == 1)   // status 0 = done, else DriverStatus.DeviceError
///     if (status &lt; 0) return 2;
/// </code></example>
public sealed unsafe class VirtioBlkDriver
{
    /// <summary>Requests in flight at most.</summary>
    public const int QueueDepth = 32;

    /// <summary>Ring entries: three descriptors per request.</summary>
    public const ushort RingSize = 128;

    private const uint RequestQueue = 0;

    private readonly VirtioDeviceDriver _device;
    private readonly Virtqueue _queue;
    private readonly VirtioBlkReqHeader* _headers; // one per slot
    private readonly byte* _statuses;              // one per slot, device-written
    private readonly short* _slotOfHead;           // head descriptor -> slot, -1 when none
    private readonly int* _freeSlots;              // stack of free slots
    private int _freeSlotCount;
    private int _awaitingDevice;                   // published, not yet completed by the device (synchronous transport)
    private VirtioAsyncQueueDriver _async;         // null on the synchronous transport

    private VirtioBlkDriver(VirtioDeviceDriver device, Virtqueue queue, ulong capacity)
    {
        _device = device;
        _queue = queue;
        Capacity = capacity;
        _headers = (VirtioBlkReqHeader*)BumpAllocator.Allocate((ulong)(QueueDepth * VirtioBlkReqHeader.Size));
        _statuses = (byte*)BumpAllocator.Allocate(QueueDepth);
        _slotOfHead = (short*)BumpAllocator.Allocate(2UL * RingSize);
        _freeSlots = (int*)BumpAllocator.Allocate(4UL * QueueDepth);
        for (int i = 0; i < RingSize; i++)
            _slotOfHead[i] = -1;
        for (int i = 0; i < QueueDepth; i++)
            _freeSlots[i] = QueueDepth - 1 - i;
        _freeSlotCount = QueueDepth;
    }

    /// <summary>The disk size in 512-byte sectors (config <c>capacity</c>).</summary>
    public ulong Capacity { get; }

    /// <summary>Requests submitted and not yet reaped.</summary>
    public int InFlight => QueueDepth - _freeSlotCount;

    /// <summary>The transport driver underneath (status, reset).</summary>
    public VirtioDeviceDriver Device => _device;

    /// <summary>The request queue (diagnostics, hostile-driver tests).</summary>
    public Virtqueue Queue => _queue;

    /// <summary>The transport chosen at <see cref="Open"/>.</summary>
    public VirtioTransportMode Mode => _async?.Mode ?? VirtioTransportMode.Hypercall;

    /// <summary>The asynchronous transport's doorbell (rings counted), or null.</summary>
    public VirtioDoorbell Doorbell => _async?.Doorbell;

    /// <summary>Times <see cref="WaitForCompletions"/> blocked in <c>SchedOp(block)</c>.</summary>
    public long Blocks => _async?.Blocks ?? 0;

    /// <summary>
    /// Finds the first virtio-blk device, negotiates VERSION_1 (and FLUSH when offered; EVENT_IDX
    /// too for an asynchronous transport), sets up the request queue, binds it to the asynchronous
    /// transport when <paramref name="mode"/> asks for it, and sets DRIVER_OK. Returns 0 or a
    /// negative status (<see cref="DriverStatus.Unsupported"/>: the host has no asynchronous
    /// transport for the device).
    /// </summary>
    public static int Open(out VirtioBlkDriver driver, VirtioTransportMode mode = VirtioTransportMode.Hypercall)
    {
        driver = null;
        int s = VirtioDeviceDriver.Find(VirtioDeviceId.Block, out VirtioDeviceDriver device);
        if (s < 0)
            return s;
        bool async = mode != VirtioTransportMode.Hypercall;
        ulong wanted = VirtioFeatures.Mask(VirtioFeatures.Version1) | VirtioFeatures.Mask(VirtioBlkFeatures.Flush);
        if (async)
            wanted |= VirtioFeatures.Mask(VirtioFeatures.EventIdx);
        s = device.Negotiate(wanted);
        if (s < 0)
            return s;
        if (device.Info.QueueCount < 1 || device.Info.MaxQueueSize < RingSize)
        {
            device.Fail();
            return DriverStatus.Unsupported;
        }
        Virtqueue queue = Virtqueue.Create(RingSize);
        if ((s = device.SetupQueue(RequestQueue, queue)) < 0)
            return s;
        VirtioAsyncQueueDriver asyncQueue = null;
        if (async && (s = VirtioAsyncQueueDriver.Bind(device, RequestQueue, queue, mode, out asyncQueue)) < 0)
        {
            device.Fail();
            return s;
        }
        ulong capacity;
        if ((s = device.ReadConfig(0, &capacity, 8)) < 0)
            return s;
        if ((s = device.Start()) < 0)
            return s;
        driver = new VirtioBlkDriver(device, queue, capacity) { _async = asyncQueue };
        return DriverStatus.Ok;
    }

    /// <summary>
    /// Queues one request (no exit): <paramref name="type"/> <see cref="VirtioBlkRequestType.In"/> reads
    /// into <paramref name="data"/>, <see cref="VirtioBlkRequestType.Out"/> writes from it,
    /// <see cref="VirtioBlkRequestType.Flush"/> takes no data. Returns the request's slot (0 to 31), or
    /// <see cref="DriverStatus.QueueFull"/>, <see cref="DriverStatus.OutOfRange"/>, <see cref="DriverStatus.BadArgument"/>.
    /// </summary>
    public int Submit(uint type, ulong sector, byte* data, uint length)
    {
        bool hasData = type == VirtioBlkRequestType.In || type == VirtioBlkRequestType.Out;
        if (hasData && (length == 0 || length % 512 != 0 || data == null))
            return DriverStatus.BadArgument;
        if (hasData && (sector > Capacity || length / 512 > Capacity - sector))
            return DriverStatus.OutOfRange;
        if (_freeSlotCount == 0)
            return DriverStatus.QueueFull;
        int slot = _freeSlots[--_freeSlotCount];
        VirtioBlkReqHeader* header = _headers + slot;
        header->Type = type;
        header->Reserved = 0;
        header->Sector = hasData ? sector : 0;
        _statuses[slot] = 0xFF; // not a valid status: the device must overwrite it

        VirtqBuffer* chain = stackalloc VirtqBuffer[3];
        int n = 0;
        chain[n++] = new VirtqBuffer((ulong)header, VirtioBlkReqHeader.Size, deviceWrites: false);
        if (hasData)
            chain[n++] = new VirtqBuffer((ulong)data, length, deviceWrites: type == VirtioBlkRequestType.In);
        chain[n++] = new VirtqBuffer((ulong)(_statuses + slot), 1, deviceWrites: true);
        int head = _queue.Add(chain, n);
        if (head < 0)
        {
            _freeSlots[_freeSlotCount++] = slot;
            return head;
        }
        _slotOfHead[head] = (short)slot;
        return slot;
    }

    /// <summary>
    /// Publishes every submitted request and rings the doorbell: one exit for the whole batch, as
    /// long as the batch moves at most the device's per-notification budget (4 MiB, docs/virtio.md);
    /// while requests remain that the device left available, it notifies again.
    /// Returns the number of requests the device completed, or a negative status
    /// (<see cref="DriverStatus.NeedsReset"/> when the device has marked itself broken).
    /// </summary>
    public long Kick()
    {
        if (_async != null)
        {
            // The asynchronous doorbell (VirtioAsyncQueueDriver.Kick): no exit; completions come later.
            _async.Kick();
            return 0;
        }
        _awaitingDevice += _queue.Publish();
        long total = 0;
        while (_awaitingDevice > 0)
        {
            long r = _device.Notify(RequestQueue);
            if (r < 0)
                return r;
            if (r == 0)
                break; // the device completed nothing (it is stopping): do not spin
            _awaitingDevice -= (int)r;
            total += r;
        }
        return total;
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> completions are in the used ring (at most the
    /// requests in flight). Synchronous transport: no wait (the device completed them in
    /// <see cref="Kick"/>). Asynchronous: polls the used ring, or, in
    /// <see cref="VirtioTransportMode.AsyncBlock"/>, sets <c>used_event</c> and blocks in
    /// <c>SchedOp(block)</c> until the queue's event. Either way an event on the queue's channel with
    /// the requests still missing makes the driver read the device status: a device that set
    /// DEVICE_NEEDS_RESET on its thread gives <see cref="DriverStatus.NeedsReset"/>.
    /// Returns 0, or a negative status.
    /// </summary>
    public int WaitForCompletions(int count)
    {
        if (count > InFlight)
            count = InFlight;
        if (_async == null || count <= 0)
            return DriverStatus.Ok;
        return _async.WaitForUsed(count);
    }

    /// <summary>
    /// Takes one completed request: returns 1 with its <paramref name="slot"/> and
    /// <paramref name="status"/> (0, or <see cref="DriverStatus.DeviceError"/> when the device's
    /// status byte is not OK), 0 when nothing is complete, or <see cref="DriverStatus.BadRing"/>.
    /// </summary>
    public int Reap(out int slot, out int status)
    {
        slot = -1;
        status = DriverStatus.Ok;
        int r = _queue.TryTakeUsed(out uint head, out uint _);
        if (r <= 0)
            return r;
        int s = _slotOfHead[head];
        if (s < 0)
            return DriverStatus.BadRing;
        _slotOfHead[head] = -1;
        _freeSlots[_freeSlotCount++] = s;
        slot = s;
        status = _statuses[s] == VirtioBlkStatus.Ok ? DriverStatus.Ok : DriverStatus.DeviceError;
        LastDeviceStatus = _statuses[s];
        return 1;
    }

    /// <summary>The status byte of the last request reaped (0 OK, 1 IOERR, 2 UNSUPP).</summary>
    public byte LastDeviceStatus { get; private set; }

    /// <summary>Reads or writes synchronously: submit, kick, reap. Returns 0 or a negative status.</summary>
    public int Transfer(uint type, ulong sector, byte* data, uint length)
    {
        int slot = Submit(type, sector, data, length);
        if (slot < 0)
            return slot;
        long k = Kick();
        if (k < 0)
            return (int)k;
        int w = WaitForCompletions(InFlight);
        if (w < 0)
            return w;
        int result = DriverStatus.Timeout;
        while (true)
        {
            int r = Reap(out int done, out int status);
            if (r < 0)
                return r;
            if (r == 0)
                break;
            if (done == slot)
                result = status;
        }
        return result;
    }

    /// <summary>FLUSH: makes every completed write durable. Returns 0 or a negative status.</summary>
    public int Flush() => _device.Has(VirtioBlkFeatures.Flush) ? Transfer(VirtioBlkRequestType.Flush, 0, null, 0) : DriverStatus.Ok;
}
