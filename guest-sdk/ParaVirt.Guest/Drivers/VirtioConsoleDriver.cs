using ParaVirt.Abi.Virtio;
using ParaVirt.Guest.Virtio;

namespace ParaVirt.Guest.Drivers;

/// <summary>
/// A virtio-console transmit driver. Bytes are gathered into <see cref="BufferSize"/>-byte buffers;
/// a full buffer goes on the transmit queue without an exit. Both queues are set up, as the device
/// requires; the receive queue is left without buffers (no input). The transport is chosen at
/// <see cref="Open"/>, as <see cref="VirtioBlkDriver"/>'s is:
/// <list type="bullet">
/// <item><see cref="VirtioTransportMode.Hypercall"/>: the doorbell (<c>VirtioNotify</c>, one exit)
/// rings only when every buffer is in flight and one is needed, or on <see cref="Flush"/>; the
/// device prints the buffers during it. With <see cref="BufferCount"/> buffers of 4 KiB that is one
/// exit per 32 KiB of output.</item>
/// <item><see cref="VirtioTransportMode.AsyncPoll"/> / <see cref="VirtioTransportMode.AsyncBlock"/>:
/// each full buffer is published at once and the doorbell (an <c>out</c> to the queue's ioeventfd
/// port, no exit) rings when the device asked for it (<c>avail_event</c>); a device thread prints
/// while the guest fills the next buffer. The driver waits for a buffer back only when all of them
/// are in flight, and on <see cref="Flush"/> for all of them, by polling the used ring or in
/// <c>SchedOp(block)</c> (<see cref="VirtioAsyncQueueDriver"/>).</item>
/// </list>
/// </summary>
/// <example><code>
/// if (VirtioConsoleDriver.Open(out VirtioConsoleDriver console) &lt; 0) return 1;   // or Open(out console, VirtioTransportMode.AsyncPoll)
/// console.Write((byte)'A');
/// console.Flush();   // publishes the partial buffer, rings the doorbell, returns when the device has printed everything
/// </code></example>
public sealed unsafe class VirtioConsoleDriver
{
    /// <summary>Bytes per transmit buffer.</summary>
    public const int BufferSize = 4096;

    /// <summary>Transmit buffers (and transmit ring entries).</summary>
    public const int BufferCount = 8;

    private const uint ReceiveQueue = VirtioConsoleConfig.ReceiveQueue;
    private const uint TransmitQueue = VirtioConsoleConfig.TransmitQueue;

    private readonly VirtioDeviceDriver _device;
    private readonly Virtqueue _transmit;
    private readonly byte* _buffers;
    private readonly int* _freeBuffers;
    private readonly int* _bufferOfHead; // head descriptor -> buffer index (driver-private)
    private int _currentIndex;
    private int _freeCount;
    private byte* _current;
    private int _fill;
    private VirtioAsyncQueueDriver _async; // null on the synchronous transport

    private VirtioConsoleDriver(VirtioDeviceDriver device, Virtqueue transmit)
    {
        _device = device;
        _transmit = transmit;
        _buffers = (byte*)Virtqueue.AllocatePages((ulong)BufferSize * BufferCount);
        _freeBuffers = (int*)Internal.Runtime.BumpAllocator.Allocate(4UL * BufferCount);
        _bufferOfHead = (int*)Internal.Runtime.BumpAllocator.Allocate(4UL * BufferCount);
        for (int i = 0; i < BufferCount; i++)
            _freeBuffers[i] = i;
        _freeCount = BufferCount;
    }

    /// <summary>The first error met (sticky), or 0.</summary>
    public int Error { get; private set; }

    /// <summary>The transport chosen at <see cref="Open"/>.</summary>
    public VirtioTransportMode Mode => _async?.Mode ?? VirtioTransportMode.Hypercall;

    /// <summary>The asynchronous transport's doorbell (rings counted), or null.</summary>
    public VirtioDoorbell Doorbell => _async?.Doorbell;

    /// <summary>Times the driver blocked in <c>SchedOp(block)</c> waiting for buffers (<see cref="VirtioTransportMode.AsyncBlock"/>).</summary>
    public long Blocks => _async?.Blocks ?? 0;

    /// <summary>Transmit buffers the device has not given back yet.</summary>
    public int InFlight => BufferCount - _freeCount - (_current != null ? 1 : 0);

    /// <summary>
    /// Opens the first virtio-console device: negotiates VERSION_1 (and EVENT_IDX for an
    /// asynchronous transport), sets up both queues, binds the transmit queue to the asynchronous
    /// transport when <paramref name="mode"/> asks for it, and sets DRIVER_OK. Returns 0 or a
    /// negative status (<see cref="DriverStatus.Unsupported"/>: the host has no asynchronous
    /// transport for the console).
    /// </summary>
    public static int Open(out VirtioConsoleDriver driver, VirtioTransportMode mode = VirtioTransportMode.Hypercall)
    {
        driver = null;
        int s = VirtioDeviceDriver.Find(VirtioDeviceId.Console, out VirtioDeviceDriver device);
        if (s < 0)
            return s;
        bool async = mode != VirtioTransportMode.Hypercall;
        ulong wanted = VirtioFeatures.Mask(VirtioFeatures.Version1);
        if (async)
            wanted |= VirtioFeatures.Mask(VirtioFeatures.EventIdx);
        if ((s = device.Negotiate(wanted)) < 0)
            return s;
        if (device.Info.QueueCount < 2 || device.Info.MaxQueueSize < BufferCount)
        {
            device.Fail();
            return DriverStatus.Unsupported;
        }
        Virtqueue receive = Virtqueue.Create(4);
        Virtqueue transmit = Virtqueue.Create(BufferCount);
        if ((s = device.SetupQueue(ReceiveQueue, receive)) < 0 || (s = device.SetupQueue(TransmitQueue, transmit)) < 0)
            return s;
        VirtioAsyncQueueDriver asyncQueue = null;
        if (async && (s = VirtioAsyncQueueDriver.Bind(device, TransmitQueue, transmit, mode, out asyncQueue)) < 0)
        {
            device.Fail();
            return s;
        }
        if ((s = device.Start()) < 0)
            return s;
        driver = new VirtioConsoleDriver(device, transmit) { _async = asyncQueue };
        return DriverStatus.Ok;
    }

    /// <summary>Writes one byte (no exit unless every buffer is in flight). Returns 0 or the sticky error.</summary>
    public int Write(byte value)
    {
        if (_current == null && Acquire() < 0)
            return Error;
        _current[_fill++] = value;
        if (_fill == BufferSize)
            Submit();
        return Error;
    }

    /// <summary>Writes <paramref name="length"/> bytes.</summary>
    public int Write(byte* bytes, int length)
    {
        for (int i = 0; i < length; i++)
            if (Write(bytes[i]) < 0)
                return Error;
        return Error;
    }

    /// <summary>Sends the partial buffer and rings the doorbell; returns when the device has taken everything.</summary>
    public int Flush()
    {
        if (_current != null && _fill > 0)
            Submit();
        if (Error < 0)
            return Error;
        if (_async != null)
        {
            // Everything is published (Submit kicks); wait until the device has printed it all.
            Wait(InFlight);
            return Error;
        }
        if (_transmit.Unpublished > 0)
            Ring();
        return Error;
    }

    private int Acquire()
    {
        if (_freeCount == 0)
        {
            if (_async != null)
                Wait(1); // every buffer is with the device thread: wait for one back
            else
                Ring();
            if (_freeCount == 0 && Error == 0)
                Error = DriverStatus.Timeout; // the device kept every buffer
        }
        if (Error < 0)
            return Error;
        _currentIndex = _freeBuffers[--_freeCount];
        _current = _buffers + (long)_currentIndex * BufferSize;
        _fill = 0;
        return 0;
    }

    private void Submit()
    {
        VirtqBuffer buffer = new((ulong)_current, (uint)_fill, deviceWrites: false);
        int head = _transmit.Add(&buffer, 1);
        if (head < 0 && Error == 0)
            Error = head;
        else if (head >= 0)
            _bufferOfHead[head] = _currentIndex;
        _current = null;
        _fill = 0;
        if (_async != null && head >= 0)
            _async.Kick(); // publish now: the device thread prints while the guest fills the next buffer
    }

    /// <summary>Synchronous transport: publishes, notifies (one exit: the device prints during it) and takes the buffers back.</summary>
    private void Ring()
    {
        _transmit.Publish();
        long r = _device.Notify(TransmitQueue);
        if (r < 0 && Error == 0)
            Error = (int)r;
        Reclaim();
    }

    /// <summary>Asynchronous transport: waits until <paramref name="count"/> buffers are used, then takes back every used one.</summary>
    private void Wait(int count)
    {
        int s = _async.WaitForUsed(count);
        if (s < 0 && Error == 0)
            Error = s;
        Reclaim();
    }

    /// <summary>Takes every used buffer back onto the free list.</summary>
    private void Reclaim()
    {
        while (true)
        {
            int t = _transmit.TryTakeUsed(out uint head, out uint _);
            if (t < 0 && Error == 0)
                Error = t;
            if (t <= 0)
                break;
            _freeBuffers[_freeCount++] = _bufferOfHead[head]; // head < ring size: checked by TryTakeUsed
        }
    }
}
