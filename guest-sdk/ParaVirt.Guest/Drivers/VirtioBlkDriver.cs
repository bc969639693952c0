using Internal.Runtime;
using ParaVirt.Abi.Virtio;
using ParaVirt.Guest.Virtio;

namespace ParaVirt.Guest.Drivers;

/// <summary>
/// A virtio-blk driver with up to <see cref="QueueDepth"/> requests in flight. Each request is a
/// three-buffer chain <c>[header R 16][data][status W 1]</c>. The caller submits requests (no exit),
/// rings the doorbell once for the whole batch (<see cref="Kick"/>: one exit, the device completes
/// the batch during it), then reaps completions from the used ring (<see cref="Reap"/>: no exit),
/// each with its status byte checked.
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
    private int _awaitingDevice;                   // published, not yet completed by the device

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

    /// <summary>
    /// Finds the first virtio-blk device, negotiates VERSION_1 (and FLUSH when offered), sets up the
    /// request queue and sets DRIVER_OK. Returns 0 or a negative status.
    /// </summary>
    public static int Open(out VirtioBlkDriver driver)
    {
        driver = null;
        int s = VirtioDeviceDriver.Find(VirtioDeviceId.Block, out VirtioDeviceDriver device);
        if (s < 0)
            return s;
        s = device.Negotiate(VirtioFeatures.Mask(VirtioFeatures.Version1) | VirtioFeatures.Mask(VirtioBlkFeatures.Flush));
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
        ulong capacity;
        if ((s = device.ReadConfig(0, &capacity, 8)) < 0)
            return s;
        if ((s = device.Start()) < 0)
            return s;
        driver = new VirtioBlkDriver(device, queue, capacity);
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
