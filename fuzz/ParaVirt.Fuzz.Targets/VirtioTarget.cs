using System;
using System.Collections.Generic;
using System.IO.Pipelines;
using System.Linq;
using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Console;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Memory;
using ParaVirt.Devices.Virtio;
using ParaVirt.Virtio;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// The virtio transport with virtio-blk (device 0, over a 32-sector disk file) and virtio-console
/// (device 1, with console input pending) on a small <see cref="GuestMemory"/>, driven only through
/// the transport's hypercalls and writes into guest memory, as a hostile driver would.
/// Oracle: no exception escapes <see cref="VirtioTransport.Dispatch"/>; memory outside the
/// guest's view (a hole between its two ranges and the top of the mapping) keeps its canary; after
/// each notify, no queue returns more chains than the driver made available (nor more than its size),
/// every chain taken is returned, and the used index in memory is the device's; the disk changes only
/// in sectors that an OUT request among the chains returned by that notify names (read by
/// <see cref="ChainModel"/> from memory before and after the notify).
/// As <c>virtio-async</c> (<see cref="VirtioTarget(bool)"/> with true), the asynchronous transport
/// too: any of the three queues may be given a device thread behind a
/// <see cref="SteppedDoorbell"/> (on first use) and bound with hypercall 25
/// (<see cref="Hypercall.VirtioBindAsyncQueue"/>); ringing its doorbell runs the thread's turns
/// while the harness waits, and the same per-notify oracle holds for them, plus: the thread never
/// faults, never ends, and its turns end (bounded work); an event is raised only on the queue's channel.
/// </summary>
/// <remarks>
/// Input: a stream of ops (docs/fuzzing.md lists them): status, features, queue setup (the harness
/// remembers each ring's addresses), notify, raw writes into memory, descriptors, publishing a head,
/// block headers, config reads, device info, a raw avail index, a one-op standard setup of a device,
/// and any transport hypercall with raw arguments. Addresses are a byte selector: 0xFF takes a raw
/// 64-bit address, anything else a 16-bit value times 4 (the whole mapping, canary included).
/// </remarks>
public sealed class VirtioTarget : IFuzzTarget
{
    private const ulong PhysicalSize = 0x40000;
    private const ulong HoleStart = 0x20000, HoleEnd = 0x24000, ViewEnd = 0x38000;
    private const byte CanaryByte = 0xC3;
    private const ulong DiskSectors = 32;
    private readonly int _opCount; // 14 ops; 16 with the asynchronous transport's two
    private const ushort DoorbellPortBase = 0x600;
    private static readonly TimeSpan TurnLimit = TimeSpan.FromSeconds(30); // far beyond a 4 MiB turn: only a turn that never ends reaches it

    private readonly GuestMemory _physical = GuestMemory.Create(PhysicalSize);
    private readonly GuestMemory _view;
    private readonly GuestMemory _shadowPhysical = GuestMemory.Create(PhysicalSize);
    private readonly GuestMemory _shadow;
    private readonly ScratchDisk _disk = new(DiskSectors);
    private readonly byte[] _model;
    private readonly byte[] _after;
    private readonly ChainModel _chains = new();
    private readonly Ring[] _rings = new Ring[3];
    private readonly VirtioAsyncQueue?[] _async = new VirtioAsyncQueue?[3];
    private readonly SteppedDoorbell?[] _bells = new SteppedDoorbell?[3];
    private int _wrongChannelEvents;
    private long _asyncCompleted;
    private static readonly byte[] ConsoleInput = CreateConsoleInput();

    /// <summary>
    /// Creates the memory and the disk file once. <paramref name="asyncTransport"/>: the target is
    /// <c>virtio-async</c>, with the ops that give queues device threads, bind them (hypercall 25)
    /// and ring their doorbells. A separate target, because its device threads make AFL's coverage
    /// unstable (docs/fuzzing.md, "Limits"): the plain target stays thread-free.
    /// </summary>
    public VirtioTarget(bool asyncTransport = false)
    {
        AsyncTransport = asyncTransport;
        _opCount = asyncTransport ? 16 : 14;
        (ulong, ulong)[] ranges = [(0, HoleStart), (HoleEnd, ViewEnd - HoleEnd)];
        _view = _physical.Restrict(ranges);
        _shadow = _shadowPhysical.Restrict(ranges);
        _model = new byte[_disk.Length + 1];
        _after = new byte[_disk.Length + 1];
    }

    /// <inheritdoc/>
    public string Name => AsyncTransport ? "virtio-async" : "virtio";

    /// <summary>Whether the asynchronous transport's ops are on (the <c>virtio-async</c> target).</summary>
    public bool AsyncTransport { get; }

    /// <summary>Turns the device threads took in the last run, and the chains they completed (tests check that seeds reach them).</summary>
    public (long Turns, long Completed) LastRunDeviceThreads { get; private set; }

    private struct Ring
    {
        public bool Ready;
        public ulong Desc, Avail, Used;
        public uint Size;
        public ushort AvailIdx;
    }

    private static byte[] CreateConsoleInput()
    {
        var bytes = new byte[300];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)('a' + i % 26);
        return bytes;
    }

    /// <inheritdoc/>
    public void Run(ReadOnlySpan<byte> input)
    {
        _physical.TryFill(0, PhysicalSize, 0);
        _physical.TryFill(HoleStart, HoleEnd - HoleStart, CanaryByte);
        _physical.TryFill(ViewEnd, PhysicalSize - ViewEnd, CanaryByte);
        _disk.Reset();
        _disk.Pattern.CopyTo(_model);
        Array.Clear(_rings);

        var pipe = new Pipe();
        pipe.Writer.WriteAsync(ConsoleInput).AsTask().GetAwaiter().GetResult();
        var transport = new VirtioTransport(_view);
        var block = new VirtioBlock(_view, _disk.Image, id: "fuzz-disk", maxQueueSize: 64);
        var console = new VirtioConsole(_view, new GuestConsole(null, pipe.Reader), maxQueueSize: 64);
        transport.Add(block);
        transport.Add(console);
        Array.Clear(_async);
        Array.Clear(_bells);
        _wrongChannelEvents = 0;
        _asyncCompleted = 0;

        var reader = new FuzzInput(input);
        int ops = 0;
        try
        {
            while (!reader.End && ops++ < 10_000)
                Step(ref reader, transport, block, console);
        }
        finally
        {
            transport.Dispose(); // ends the device threads (their doorbells are disposed, each turn has ended)
        }
        LastRunDeviceThreads = (_async.Sum(q => q?.Turns ?? 0), _asyncCompleted);
        foreach (VirtioAsyncQueue? queue in _async)
            OracleViolationException.Check(queue is null || !queue.IsRunning, $"the device thread of device {queue?.Device.DeviceId} queue {queue?.Queue} did not end");
        OracleViolationException.Check(_wrongChannelEvents == 0, "a device thread raised an event channel that is not its queue's");
        CheckCanary();
    }

    private void Step(ref FuzzInput reader, VirtioTransport transport, VirtioBlock block, VirtioConsole console)
    {
        int op = reader.U8() % _opCount;
        switch (op)
        {
            case 0:
                Call(transport, Hypercall.VirtioSetStatus, Dev(ref reader), reader.U8());
                break;
            case 1:
                Call(transport, Hypercall.VirtioSetFeatures, Dev(ref reader), reader.U8(), reader.U32());
                break;
            case 2:
                Call(transport, Hypercall.VirtioGetFeatures, Dev(ref reader), reader.U8());
                break;
            case 3:
            {
                ulong dev = Dev(ref reader);
                ulong queue = reader.U8() % 3u;
                ulong desc = Address(ref reader), avail = Address(ref reader), used = Address(ref reader);
                ulong size = reader.U16();
                if (Call(transport, Hypercall.VirtioSetupQueue, dev, queue, desc, avail, used, size) == 0)
                    _rings[RingIndex(dev, queue)] = new Ring { Ready = true, Desc = desc, Avail = avail, Used = used, Size = (uint)size };
                break;
            }
            case 4:
                Notify(transport, block, console, Dev(ref reader), reader.U8() % 3u);
                break;
            case 5:
            {
                ulong address = Address(ref reader);
                _view.TryWrite(address, reader.Bytes(reader.U8()));
                break;
            }
            case 6:
            {
                ref Ring ring = ref RingOf(ref reader);
                uint index = reader.U8();
                var desc = new VirtqDesc { Addr = Address(ref reader), Len = reader.U32(), Flags = (ushort)(reader.U8() & 7), Next = reader.U8() };
                if (ring.Ready)
                    _view.TryWrite(ring.Desc + 16UL * (index % ring.Size), desc);
                break;
            }
            case 7:
            {
                ref Ring ring = ref RingOf(ref reader);
                ushort head = reader.U8();
                if (ring.Ready)
                {
                    _view.TryWrite(ring.Avail + VirtqLayout.RingOffset + 2UL * (ring.AvailIdx % ring.Size), head);
                    ring.AvailIdx++;
                    _view.TryWrite(ring.Avail + 2, ring.AvailIdx);
                }
                break;
            }
            case 8:
            {
                ulong address = Address(ref reader);
                byte type = reader.U8();
                uint requestType = (type & 3) switch { 0 => VirtioBlkRequestType.In, 1 => VirtioBlkRequestType.Out, 2 => VirtioBlkRequestType.Flush, _ => VirtioBlkRequestType.GetId };
                ulong sector = (type & 4) != 0 ? reader.U64() : reader.U8();
                _view.TryWrite(address, new VirtioBlkReqHeader { Type = requestType, Sector = sector });
                break;
            }
            case 9:
                Call(transport, Hypercall.VirtioReadConfig, Dev(ref reader), reader.U8(), Address(ref reader), reader.U8());
                break;
            case 10:
                Call(transport, Hypercall.VirtioDeviceInfo, Dev(ref reader), Address(ref reader));
                break;
            case 11:
            {
                ref Ring ring = ref RingOf(ref reader);
                ushort value = reader.U16();
                if (ring.Ready)
                {
                    ring.AvailIdx = value;
                    _view.TryWrite(ring.Avail + 2, value);
                }
                break;
            }
            case 12:
                StandardSetup(transport, reader.U8() % 2u, reader.U8());
                break;
            case 14:
            {
                // Hypercall 25: the queue is given a device thread first (as a machine does at build time).
                ulong dev = (ulong)(reader.U8() % 2);
                ulong queue = reader.U8() % 2UL;
                BindAsync(transport, dev, dev == 0 ? 0 : queue);
                break;
            }
            case 15:
            {
                ulong dev = (ulong)(reader.U8() % 2);
                ulong queue = reader.U8() % 2UL;
                Notify(transport, block, console, dev, dev == 0 ? 0 : queue, doorbell: true);
                break;
            }
            default:
            {
                var call = (Hypercall)((uint)Hypercall.VirtioDeviceCount + reader.U8() % 10u);
                Call(transport, call, reader.U64(), reader.U64(), reader.U64(), reader.U64(), reader.U64(), reader.U64());
                break;
            }
        }
    }

    /// <summary>
    /// Gives queue <paramref name="queue"/> of device <paramref name="dev"/> a device thread behind a
    /// <see cref="SteppedDoorbell"/> (once per input) and calls <see cref="Hypercall.VirtioBindAsyncQueue"/>.
    /// </summary>
    private void BindAsync(VirtioTransport transport, ulong dev, ulong queue)
    {
        int index = RingIndex(dev, queue);
        if (_async[index] is null)
        {
            var bell = new SteppedDoorbell((ushort)(DoorbellPortBase + index));
            uint channel = (uint)(index + 1);
            _bells[index] = bell;
            _async[index] = transport.AddAsyncQueue((int)dev, (int)queue, bell, channel, raised =>
            {
                if (raised != (int)channel)
                    Interlocked.Increment(ref _wrongChannelEvents);
            });
        }
        long r = Call(transport, Hypercall.VirtioBindAsyncQueue, dev, queue);
        if (r >= 0)
        {
            OracleViolationException.Check(VirtioAsyncBinding.Port(r) == _bells[index]!.Port && VirtioAsyncBinding.Channel(r) == _async[index]!.Channel,
                $"hypercall 25 answered port {VirtioAsyncBinding.Port(r)} channel {VirtioAsyncBinding.Channel(r)} for device {dev} queue {queue}");
        }
    }

    /// <summary>
    /// Negotiates every offered feature (or none: bit 0 of <paramref name="flags"/>), sets up each
    /// queue at fixed addresses with 16 entries, binds each queue to the asynchronous transport when
    /// bit 1 is set, and sets DRIVER_OK.
    /// </summary>
    private void StandardSetup(VirtioTransport transport, ulong dev, byte flags)
    {
        Call(transport, Hypercall.VirtioSetStatus, dev, 0);
        Call(transport, Hypercall.VirtioSetStatus, dev, VirtioDeviceStatus.Acknowledge);
        Call(transport, Hypercall.VirtioSetStatus, dev, VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver);
        ulong accept = (flags & 1) != 0 ? 0 : ulong.MaxValue;
        for (ulong word = 0; word < 2; word++)
        {
            ulong offered = (ulong)Call(transport, Hypercall.VirtioGetFeatures, dev, word) & 0xFFFF_FFFF;
            Call(transport, Hypercall.VirtioSetFeatures, dev, word, offered & accept);
        }
        const byte FeaturesOk = VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk;
        Call(transport, Hypercall.VirtioSetStatus, dev, FeaturesOk);
        for (ulong queue = 0; queue < (dev == 0 ? 1UL : 2UL); queue++)
        {
            ulong basis = 0x1000 + (ulong)RingIndex(dev, queue) * 0x1000;
            if (Call(transport, Hypercall.VirtioSetupQueue, dev, queue, basis, basis + 0x400, basis + 0x800, 16) == 0)
                _rings[RingIndex(dev, queue)] = new Ring { Ready = true, Desc = basis, Avail = basis + 0x400, Used = basis + 0x800, Size = 16 };
            if ((flags & 2) != 0 && AsyncTransport)
                BindAsync(transport, dev, queue);
        }
        Call(transport, Hypercall.VirtioSetStatus, dev, FeaturesOk | VirtioDeviceStatus.DriverOk);
    }

    /// <summary>
    /// A notify hypercall, or with <paramref name="doorbell"/> a ring of the queue's doorbell and the
    /// device thread's turns (nothing when the queue has no device thread), under the per-notify oracle.
    /// </summary>
    private void Notify(VirtioTransport transport, VirtioBlock block, VirtioConsole console, ulong dev, ulong queueIndex, bool doorbell = false)
    {
        VirtioAsyncQueue? async = null;
        if (doorbell && (dev > 1 || (async = _async[RingIndex(dev, queueIndex)]) is null))
            return;
        VirtioDevice? device = dev == 0 ? block : dev == 1 ? console : null;
        SplitVirtqueue? queue = device is not null && queueIndex < (ulong)device.QueueCount ? device.GetQueue((int)queueIndex) : null;
        ushort nextAvail = 0, nextUsed = 0, available = 0;
        Ring ring = queue is null ? default : _rings[RingIndex(dev, queueIndex)];
        bool observed = queue is not null && queue.IsReady && ring.Ready && queue.Size == ring.Size;
        if (observed)
        {
            nextAvail = queue!.NextAvail;
            nextUsed = queue.NextUsed;
            _view.TryRead(ring.Avail + 2, out ushort availIdx);
            available = (ushort)(availIdx - nextAvail);
            if (dev == 0)
                CopyToShadow();
        }

        long result = doorbell ? RingAndServe(async!, RingIndex(dev, queueIndex)) : Call(transport, Hypercall.VirtioNotify, dev, queueIndex);

        if (observed)
        {
            ushort completed = (ushort)(queue!.NextUsed - nextUsed);
            ushort taken = (ushort)(queue.NextAvail - nextAvail);
            OracleViolationException.Check(completed <= available && completed <= ring.Size,
                $"device {dev} queue {queueIndex} returned {completed} chains when {available} were available (size {ring.Size})");
            OracleViolationException.Check(taken == completed, $"device {dev} queue {queueIndex} took {taken} chains but returned {completed}");
            if (completed > 0)
            {
                _view.TryRead(ring.Used + 2, out ushort usedIdx);
                OracleViolationException.Check(usedIdx == queue.NextUsed, $"used->idx is {usedIdx} in memory but the device returned up to {queue.NextUsed}");
            }
            if (doorbell)
                _asyncCompleted += completed;
            if (result >= 0 && !doorbell)
                OracleViolationException.Check(result == completed || queue.Error != VirtqueueError.None,
                    $"notify returned {result} but the queue completed {completed} chains");
            if (dev == 0)
                CheckDisk(ring, nextUsed, completed);
        }
        else if (dev == 0)
        {
            CheckDiskUnchanged();
        }
    }

    /// <summary>Rings the queue's doorbell and waits until its device thread is idle again; the thread must neither fault nor end nor work without end.</summary>
    private long RingAndServe(VirtioAsyncQueue async, int index)
    {
        bool idle = _bells[index]!.RingAndWaitUntilIdle(TurnLimit, () => async.IsRunning);
        OracleViolationException.Check(async.Faults == 0, $"the device thread of device {async.Device.DeviceId} queue {async.Queue} caught an exception (a host bug)");
        OracleViolationException.Check(idle, async.IsRunning
            ? $"the device thread of device {async.Device.DeviceId} queue {async.Queue} did not finish its turns within {TurnLimit.TotalSeconds} s"
            : $"the device thread of device {async.Device.DeviceId} queue {async.Queue} ended while the VM runs");
        return 0;
    }

    private void CheckDisk(in Ring ring, ushort firstUsed, ushort completed)
    {
        long length = _disk.Snapshot(_after);
        OracleViolationException.Check(length == _disk.Length, $"the disk file is {length} bytes, not {_disk.Length}");
        if (_after.AsSpan(0, _disk.Length).SequenceEqual(_model.AsSpan(0, _disk.Length)))
            return;
        // The chains as the device found them: heads from the used ring after the notify, chains
        // and headers from memory as it was before the notify (the driver changes nothing during it).
        _chains.Clear();
        _chains.AddRead(ring.Desc, VirtqLayout.DescTableSize(ring.Size));
        _chains.AddRead(ring.Avail, VirtqLayout.AvailRingSize(ring.Size));
        for (ushort i = 0; i < completed; i++)
        {
            ulong slot = ring.Used + VirtqLayout.RingOffset + 8UL * ((uint)(ushort)(firstUsed + i) % ring.Size);
            if (_view.TryRead(slot, out uint head) && head <= ushort.MaxValue)
                _chains.Walk(_shadow, ring.Desc, ring.Size, (ushort)head);
        }
        // Where the device's own writes (data, status bytes) land in rings, tables or request
        // buffers, an earlier request rewrites a later one: no model short of re-running the
        // device says what the later one asked for, so only the file size is checked then.
        _chains.SetUsedRing(ring.Used, VirtqLayout.UsedRingSize(ring.Size));
        if (!_chains.Aliased())
        {
            for (int sector = 0; sector < (int)DiskSectors; sector++)
            {
                if (_after.AsSpan(sector * 512, 512).SequenceEqual(_model.AsSpan(sector * 512, 512)))
                    continue;
                bool allowed = false;
                foreach ((ulong start, ulong end) in _chains.OutRanges)
                    allowed |= (ulong)sector >= start && (ulong)sector < end;
                OracleViolationException.Check(allowed, $"disk sector {sector} changed but no OUT request returned by this notify covers it");
            }
        }
        _after.AsSpan(0, _disk.Length).CopyTo(_model);
    }

    private void CheckDiskUnchanged()
    {
        long length = _disk.Snapshot(_after);
        OracleViolationException.Check(length == _disk.Length && _after.AsSpan(0, _disk.Length).SequenceEqual(_model.AsSpan(0, _disk.Length)),
            "the disk changed on a notify of a queue that is not set up");
    }

    private void CopyToShadow()
    {
        _physical.TryGetSpan(0, PhysicalSize, out Span<byte> from);
        _shadowPhysical.TryGetSpan(0, PhysicalSize, out Span<byte> to);
        from.CopyTo(to);
    }

    private void CheckCanary()
    {
        foreach ((ulong start, ulong end) in (ReadOnlySpan<(ulong, ulong)>)[(HoleStart, HoleEnd), (ViewEnd, PhysicalSize)])
        {
            _physical.TryGetSpan(start, end - start, out Span<byte> span);
            int changed = span.IndexOfAnyExcept(CanaryByte);
            OracleViolationException.Check(changed < 0, $"a device wrote outside the guest's view at 0x{start + (ulong)changed:x}");
        }
    }

    private static long Call(VirtioTransport transport, Hypercall call, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        try
        {
            return transport.Dispatch(call, new HypercallArgs(a0, a1, a2, a3, a4, a5));
        }
        catch (Exception ex)
        {
            throw new OracleViolationException($"{call}({a0:x}, {a1:x}, {a2:x}, {a3:x}, {a4:x}, {a5:x}) threw {ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    private static ulong Dev(ref FuzzInput reader) => (ulong)(reader.U8() % 3);

    private static int RingIndex(ulong dev, ulong queue) => dev == 0 ? 0 : 1 + (int)Math.Min(queue, 1);

    private ref Ring RingOf(ref FuzzInput reader)
    {
        ulong dev = (ulong)(reader.U8() % 2);
        return ref _rings[RingIndex(dev, reader.U8() % 2UL)];
    }

    private static ulong Address(ref FuzzInput reader)
    {
        byte selector = reader.U8();
        return selector == 0xFF ? reader.U64() : (ulong)(reader.U16() * 4u) % PhysicalSize;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _disk.Dispose();
        _physical.Dispose();
        _shadowPhysical.Dispose();
    }
}
