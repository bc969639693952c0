using ParaVirt.Abi.Virtio;
using ParaVirt.Guest.Virtio;

namespace ParaVirt.Guest.Drivers;

/// <summary>
/// A virtio-console transmit driver. Bytes are gathered into <see cref="BufferSize"/>-byte buffers;
/// a full buffer goes on the transmit queue without an exit. The doorbell rings only when every
/// buffer is in flight and one is needed, or on <see cref="Flush"/>: with
/// <see cref="BufferCount"/> buffers of 4 KiB that is one exit per 32 KiB of output. Both queues
/// are set up, as the device requires; the receive queue is left without buffers (no input).
/// </summary>
/// <example><code>
/// if (VirtioConsoleDriver.Open(out VirtioConsoleDriver console) &lt; 0) return 1;
/// console.Write((byte)'A');
/// console.Flush();   // publishes the partial buffer and rings the doorbell
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

    /// <summary>Opens the first virtio-console device. Returns 0 or a negative status.</summary>
    public static int Open(out VirtioConsoleDriver driver)
    {
        driver = null;
        int s = VirtioDeviceDriver.Find(VirtioDeviceId.Console, out VirtioDeviceDriver device);
        if (s < 0)
            return s;
        if ((s = device.Negotiate(VirtioFeatures.Mask(VirtioFeatures.Version1))) < 0)
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
        if ((s = device.Start()) < 0)
            return s;
        driver = new VirtioConsoleDriver(device, transmit);
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
        if (_transmit.Unpublished > 0)
            Ring();
        return Error;
    }

    private int Acquire()
    {
        if (_freeCount == 0)
        {
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
    }

    private void Ring()
    {
        _transmit.Publish();
        long r = _device.Notify(TransmitQueue);
        if (r < 0 && Error == 0)
            Error = (int)r;
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
