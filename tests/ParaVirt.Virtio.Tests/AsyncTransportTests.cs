using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Virtio.Tests;

/// <summary>
/// The asynchronous transport without an engine: a fake doorbell rung by the test, the device
/// thread of <see cref="VirtioAsyncQueue"/>, and a recorded event channel.
/// </summary>
public sealed class AsyncTransportTests
{
    private const ushort Port = 0x600;
    private const uint Channel = 3;
    private const uint RingSize = 128;
    private const ulong Headers = 0x10000, Statuses = 0x11000, Data = 0x20000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20); // liveness bound, not a timing assertion

    private GuestMemory _memory = null!;
    private DiskImage _disk = null!;
    private string _path = null!;
    private VirtioTransport _transport = null!;
    private VirtioBlock _block = null!;
    private DriverRing _ring = null!;
    private FakeDoorbell _bell = null!;
    private VirtioAsyncQueue _async = null!;
    private long _events;
    private int _lastChannel = -1;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(4 << 20);
        _path = Path.Combine(Path.GetTempPath(), $"paravirt-async-{Guid.NewGuid():N}.img");
        _disk = DiskImage.Create(_path, 4096); // 2 MiB
        _transport = new VirtioTransport(_memory);
        _block = new VirtioBlock(_memory, _disk);
        _transport.Add(_block);
        _ring = new DriverRing(_memory, RingSize);
        _bell = new FakeDoorbell(Port);
        _events = 0;
        _async = _transport.AddAsyncQueue(0, 0, _bell, Channel, RaiseEvent);
    }

    [TearDown]
    public void TearDown()
    {
        _transport.Dispose();
        _disk.Dispose();
        _memory.Dispose();
        File.Delete(_path);
    }

    private void RaiseEvent(int channel)
    {
        Volatile.Write(ref _lastChannel, channel);
        Interlocked.Increment(ref _events);
    }

    private long Events => Interlocked.Read(ref _events);

    private long Call(Hypercall call, ulong a0 = 0, ulong a1 = 0) => _transport.Call(call, a0, a1);

    /// <summary>Negotiates (all features, or without EVENT_IDX), sets up the queue, binds it, DRIVER_OK.</summary>
    private void StartBound(bool eventIdx = true)
    {
        _transport.Negotiate(0, eventIdx ? ulong.MaxValue : ulong.MaxValue & ~(1UL << VirtioFeatures.EventIdx));
        _transport.SetupQueue(0, 0, _ring);
        Assert.That(Call(Hypercall.VirtioBindAsyncQueue, 0, 0), Is.EqualTo(VirtioAsyncBinding.Encode(Port, Channel)));
        _transport.DriverOk(0);
    }

    /// <summary>Writes request <paramref name="i"/> (4 KiB at sector 8·i) in slot <paramref name="slot"/> as chain 3·slot..3·slot+2 and publishes it.</summary>
    private void AddRequest(int i, uint type, int slot)
    {
        ulong header = Headers + 16UL * (ulong)slot, status = Statuses + (ulong)slot, data = Data + 4096UL * (ulong)slot;
        Assert.That(_memory.TryWrite(header, new VirtioBlkReqHeader { Type = type, Sector = 8UL * (ulong)i }), Is.True);
        Assert.That(_memory.TryWrite(status, (byte)0xFF), Is.True);
        uint d = 3u * (uint)slot;
        _ring.SetDesc(d, header, 16, VirtqDescFlags.Next, (ushort)(d + 1));
        _ring.SetDesc(d + 1, data, 4096, (ushort)(VirtqDescFlags.Next | (type == VirtioBlkRequestType.In ? VirtqDescFlags.Write : 0)), (ushort)(d + 2));
        _ring.SetDesc(d + 2, status, 1, VirtqDescFlags.Write);
        _ring.Publish((ushort)d);
    }

    private void WaitForUsed(ushort usedIdx) =>
        Assert.That(SpinWait.SpinUntil(() => _ring.UsedIdx == usedIdx, Patience), Is.True, $"used->idx reached {usedIdx} (it is {_ring.UsedIdx})");

    [Test]
    public void BindingIsRefusedOutsideTheSetupPhaseAndForQueuesWithoutADeviceThread()
    {
        using var memory = GuestMemory.Create(1 << 20);
        var transport = new VirtioTransport(memory);
        transport.Add(new VirtioConsole(memory, new ParaVirt.Core.Console.GuestConsole(null)));
        var bell = new FakeDoorbell(Port);
        transport.AddAsyncQueue(0, 1, bell, Channel, _ => { });
        using (transport)
        {
            Assert.That(transport.Call(Hypercall.VirtioBindAsyncQueue, 5, 1), Is.EqualTo((long)HypercallStatus.NotFound));
            Assert.That(transport.Call(Hypercall.VirtioBindAsyncQueue, 0, 1), Is.EqualTo((long)HypercallStatus.NotPermitted), "before FEATURES_OK");
            transport.Negotiate(0, ulong.MaxValue);
            Assert.That(transport.Call(Hypercall.VirtioBindAsyncQueue, 0, 2), Is.EqualTo((long)HypercallStatus.InvalidArgument), "queue 2 of a two-queue device");
            Assert.That(transport.Call(Hypercall.VirtioBindAsyncQueue, 0, 0), Is.EqualTo((long)HypercallStatus.NotPermitted), "queue 0 has no device thread");
            Assert.That(transport.Call(Hypercall.VirtioBindAsyncQueue, 0, 1), Is.EqualTo(VirtioAsyncBinding.Encode(Port, Channel)));
            Assert.That(transport.Devices[0].IsAsyncBound(1), Is.True);
            transport.SetupQueue(0, 0, new DriverRing(memory, 16));
            transport.SetupQueue(0, 1, new DriverRing(memory, 16, 0x8000, 0x9000, 0xA000));
            transport.DriverOk(0);
            Assert.That(transport.Call(Hypercall.VirtioBindAsyncQueue, 0, 1), Is.EqualTo((long)HypercallStatus.NotPermitted), "after DRIVER_OK");
            Assert.That(transport.Call(Hypercall.VirtioSetStatus, 0, 0), Is.Zero);
            Assert.That(transport.Devices[0].IsAsyncBound(1), Is.False, "a reset puts the queue back on the synchronous transport");
        }
        Assert.That(bell.IsDisposed, Is.True, "disposing the transport disposes its doorbells");
    }

    [Test]
    public void ARingedDoorbellIsServedByTheDeviceThreadAndRaisesTheEventOncePerBatch()
    {
        StartBound();
        _ring.SetUsedEvent(31); // EVENT_IDX: tell me when the 32nd request is used
        byte[] pattern = new byte[4096];
        for (int i = 0; i < 32; i++)
        {
            pattern.AsSpan().Fill((byte)(i + 1));
            Assert.That(_memory.TryWrite(Data + 4096UL * (ulong)i, pattern), Is.True);
            AddRequest(i, VirtioBlkRequestType.Out, i);
        }
        _bell.Ring();

        WaitForUsed(32);
        Assert.That(SpinWait.SpinUntil(() => Events == 1, Patience), Is.True);
        Assert.That(Volatile.Read(ref _lastChannel), Is.EqualTo((int)Channel));
        for (int i = 0; i < 32; i++)
        {
            Assert.That(_memory.TryRead(Statuses + (ulong)i, out byte status) && status == VirtioBlkStatus.Ok, Is.True);
            byte[] sector = new byte[512];
            Assert.That(_disk.TryRead(8UL * (ulong)i + 7, sector), Is.True);
            Assert.That(sector, Is.All.EqualTo((byte)(i + 1)));
        }
        Assert.That(_ring.AvailEvent, Is.EqualTo(32), "the device asks to be rung for the next request");
        Assert.That(_async.Faults, Is.Zero);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void ADriverThatSuppressesEventsGetsNone(bool eventIdx)
    {
        StartBound(eventIdx);
        if (eventIdx)
            _ring.SetUsedEvent(0xFFFF); // vring_need_event(0xFFFF, new, old) is false for 0 < new <= 32
        else
            _ring.SetAvailFlags(VirtqAvailFlags.NoInterrupt);
        for (int i = 0; i < 32; i++)
            AddRequest(i, VirtioBlkRequestType.In, i);
        _bell.Ring();

        WaitForUsed(32);
        Assert.That(SpinWait.SpinUntil(() => _async.Turns >= 1, Patience), Is.True);
        Assert.That(Events, Is.Zero);
    }

    [Test]
    public void WithoutEventIdxAndWithInterruptsWantedEveryTurnThatCompletesRaisesTheEvent()
    {
        StartBound(eventIdx: false);
        AddRequest(0, VirtioBlkRequestType.In, 0);
        _bell.Ring();
        WaitForUsed(1);
        Assert.That(SpinWait.SpinUntil(() => Events == 1, Patience), Is.True);
        AddRequest(1, VirtioBlkRequestType.In, 1);
        _bell.Ring();
        WaitForUsed(2);
        Assert.That(SpinWait.SpinUntil(() => Events == 2, Patience), Is.True);
    }

    [Test]
    public void AnUnboundQueueIgnoresItsDoorbellAndStaysSynchronous()
    {
        _transport.Negotiate(0, ulong.MaxValue);
        _transport.SetupQueue(0, 0, _ring);
        _transport.DriverOk(0);
        AddRequest(0, VirtioBlkRequestType.In, 0);
        _bell.Ring();
        Assert.That(SpinWait.SpinUntil(() => _async.Wakeups == 1, Patience), Is.True);
        SpinWait.SpinUntil(() => _async.Turns == 1, Patience);
        Assert.That(_ring.UsedIdx, Is.Zero, "the doorbell of a queue the driver did not bind does nothing");
        Assert.That(Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1), "the synchronous notify serves it");
    }

    [Test]
    public void AHostileRingSeenOnTheDeviceThreadSetsNeedsResetAndRaisesTheEvent()
    {
        StartBound();
        _ring.SetUsedEvent(0xFFFF); // even a driver that suppresses completions hears of the reset
        _ring.SetDesc(0, Headers, 16, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, Headers, 16, VirtqDescFlags.Next, 0); // a loop
        _ring.Publish(0);
        _bell.Ring();

        Assert.That(SpinWait.SpinUntil(() => Events == 1, Patience), Is.True);
        Assert.That(_block.NeedsReset, Is.True);
        Assert.That(_block.GetQueue(0).Error, Is.EqualTo(VirtqueueError.ChainTooLong));
        Assert.That(Call(Hypercall.VirtioGetStatus, 0) & VirtioDeviceStatus.DeviceNeedsReset, Is.Not.Zero);
        Assert.That(Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo((long)HypercallStatus.NotPermitted));
        _bell.Ring();
        Assert.That(SpinWait.SpinUntil(() => _async.Wakeups == 2, Patience), Is.True);
        SpinWait.SpinUntil(() => _async.Turns == 2, Patience);
        Assert.That(Events, Is.EqualTo(1), "a device needing a reset does nothing more");

        // Recovery: reset, set up again, bind again, and the device thread serves requests.
        Assert.That(Call(Hypercall.VirtioSetStatus, 0, 0), Is.Zero);
        _ring = new DriverRing(_memory, RingSize, 0x100000, 0x102000, 0x103000);
        StartBound();
        _ring.SetUsedEvent(0);
        AddRequest(0, VirtioBlkRequestType.In, 0);
        _bell.Ring();
        WaitForUsed(1);
        Assert.That(SpinWait.SpinUntil(() => Events == 2, Patience), Is.True);
        Assert.That(_async.Faults, Is.Zero);
    }

    [Test]
    public void ADeviceThreadGoesOnPastItsBudgetWithoutAnotherDoorbell()
    {
        StartBound();
        _ring.SetUsedEvent(0xFFFF);
        // 16 reads of 1 MiB each: four notifications' budget.
        Assert.That(_memory.TryWrite(Headers, new VirtioBlkReqHeader { Type = VirtioBlkRequestType.In, Sector = 0 }), Is.True);
        _ring.SetDesc(0, Headers, 16, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, 0x200000, (uint)VirtioBlock.MaxRequestBytes, VirtqDescFlags.Next | VirtqDescFlags.Write, 2);
        _ring.SetDesc(2, Statuses, 1, VirtqDescFlags.Write);
        for (int i = 0; i < 16; i++)
            _ring.Publish(0);
        _bell.Ring();

        WaitForUsed(16);
        Assert.That(SpinWait.SpinUntil(() => _async.Turns >= 4, Patience), Is.True);
        Assert.That(_async.Wakeups, Is.EqualTo(1));
        Assert.That(_async.Turns, Is.EqualTo(4), "4 MiB per turn, 16 MiB in all");
    }

    [Test]
    public void TheDeviceThreadAllocatesNothingPerRequest()
    {
        StartBound();
        _ring.SetUsedEvent(0xFFFF);
        ushort used = 0;
        long batches = 0;
        void Batch()
        {
            for (int i = 0; i < 32; i++)
                AddRequest(i, VirtioBlkRequestType.In, i);
            _bell.Ring(); // once per batch, after it is published: one wake-up, one turn
            used += 32;
            batches++;
            WaitForUsed(used);
            Assert.That(SpinWait.SpinUntil(() => _async.Turns == batches, Patience), Is.True);
        }
        for (int b = 0; b < 4; b++)
            Batch(); // warm up: first-use allocations of the runtime are not per request
        long before = _async.AllocatedBytes;
        for (int b = 0; b < 32; b++)
            Batch(); // 1024 requests
        Assert.That(_async.AllocatedBytes - before, Is.Zero);
        Assert.That(_async.Turns, Is.EqualTo(36));
    }

    [Test]
    public void DisposingTheMemoryUnderAWorkingDeviceThreadEndsItCleanly()
    {
        StartBound();
        _ring.SetUsedEvent(0xFFFF);
        var driver = new Thread(() =>
        {
            // A flooding driver: keeps the ring full of 1 MiB reads and rings after each batch.
            ushort idx = 0;
            while (!_bell.IsDisposed)
            {
                if (!_memory.TryWrite(Headers, new VirtioBlkReqHeader { Type = VirtioBlkRequestType.In }))
                    return;
                _memory.TryWrite(DriverRing.DescBase, new VirtqDesc { Addr = Headers, Len = 16, Flags = VirtqDescFlags.Next, Next = 1 });
                _memory.TryWrite(DriverRing.DescBase + 16, new VirtqDesc { Addr = 0x200000, Len = 1 << 20, Flags = VirtqDescFlags.Next | VirtqDescFlags.Write, Next = 2 });
                _memory.TryWrite(DriverRing.DescBase + 32, new VirtqDesc { Addr = Statuses, Len = 1, Flags = VirtqDescFlags.Write });
                if (!_memory.TryRead(_ring.Used + 2, out ushort usedIdx))
                    return;
                while ((ushort)(idx - usedIdx) < RingSize)
                {
                    _memory.TryWrite(_ring.Avail + VirtqLayout.AvailEntryOffset((uint)(idx % RingSize)), (ushort)0);
                    idx++;
                }
                _memory.TryWrite(_ring.Avail + 2, idx);
                _bell.Ring();
                Thread.Yield();
            }
        }) { IsBackground = true };
        driver.Start();
        Assert.That(SpinWait.SpinUntil(() => _async.Turns >= 8, Patience), Is.True);

        _memory.Dispose(); // waits for the device thread's lease, then unmaps
        _bell.Ring();      // a late ring: the next turn finds the memory closed

        Assert.That(SpinWait.SpinUntil(() => !_async.IsRunning, Patience), Is.True, "a refused lease ends the device thread");
        Assert.That(_memory.IsUnmapped, Is.True);
        Assert.That(_async.Faults, Is.Zero);
        _bell.Dispose();
        Assert.That(driver.Join(Patience), Is.True);
    }

    [Test]
    public void DisposingTheMemoryUnderAConsoleDeviceThreadCopyingOutputEndsItCleanly()
    {
        // virtio-console's transmit copies guest bytes with managed code (into the console pipe):
        // without the turn's lease the memory would be unmapped under the copy, a fatal access
        // violation of the test host. Several rounds, each disposing in the middle of the flood.
        for (int round = 0; round < 8; round++)
        {
            var memory = GuestMemory.Create(4 << 20);
            var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: 0));
            var drain = Task.Run(async () =>
            {
                while (true)
                {
                    var read = await pipe.Reader.ReadAsync();
                    pipe.Reader.AdvanceTo(read.Buffer.End);
                    if (read.IsCompleted)
                        return;
                }
            });
            var transport = new VirtioTransport(memory);
            transport.Add(new VirtioConsole(memory, new ParaVirt.Core.Console.GuestConsole(pipe.Writer)));
            var bell = new FakeDoorbell(Port);
            VirtioAsyncQueue async = transport.AddAsyncQueue(0, (int)VirtioConsoleConfig.TransmitQueue, bell, Channel, _ => { });
            var receive = new DriverRing(memory, 16);
            var transmit = new DriverRing(memory, RingSize, 0x10000, 0x12000, 0x13000);
            transport.Negotiate(0, ulong.MaxValue);
            transport.SetupQueue(0, 0, receive);
            transport.SetupQueue(0, 1, transmit);
            Assert.That(transport.Call(Hypercall.VirtioBindAsyncQueue, 0, 1), Is.EqualTo(VirtioAsyncBinding.Encode(Port, Channel)));
            transport.DriverOk(0);
            transmit.SetDesc(0, 0x100000, 64 * 1024); // one 64 KiB chain, published over and over
            var driver = new Thread(() =>
            {
                ushort idx = 0;
                while (!bell.IsDisposed)
                {
                    if (!memory.TryRead(transmit.Used + 2, out ushort usedIdx))
                        return;
                    while ((ushort)(idx - usedIdx) < RingSize)
                    {
                        memory.TryWrite(transmit.Avail + VirtqLayout.AvailEntryOffset((uint)(idx % RingSize)), (ushort)0);
                        idx++;
                    }
                    if (!memory.TryWrite(transmit.Avail + 2, idx))
                        return;
                    bell.Ring();
                    Thread.Yield();
                }
            }) { IsBackground = true };
            driver.Start();
            Assert.That(SpinWait.SpinUntil(() => async.Turns >= 4, Patience), Is.True);

            memory.Dispose(); // waits for the device thread's lease, then unmaps
            bell.Ring();      // a late ring: the next turn finds the memory closed

            Assert.That(SpinWait.SpinUntil(() => !async.IsRunning, Patience), Is.True, "a refused lease ends the device thread");
            Assert.That(memory.IsUnmapped, Is.True);
            Assert.That(async.Faults, Is.Zero);
            transport.Dispose();
            Assert.That(driver.Join(Patience), Is.True);
            pipe.Writer.Complete();
            Assert.That(drain.Wait(Patience), Is.True);
        }
    }

    [Test]
    public void AnExceptionOnTheDeviceThreadIsCaughtAndMarksTheDeviceForReset()
    {
        using var memory = GuestMemory.Create(1 << 20);
        var transport = new VirtioTransport(memory);
        var device = new ThrowingDevice(memory);
        transport.Add(device);
        Exception? seen = null;
        long raised = 0;
        var bell = new FakeDoorbell(Port);
        VirtioAsyncQueue async = transport.AddAsyncQueue(0, 0, bell, Channel, _ => Interlocked.Increment(ref raised), ex => seen = ex);
        using (transport)
        {
            transport.Negotiate(0, ulong.MaxValue);
            transport.SetupQueue(0, 0, new DriverRing(memory, 16));
            Assert.That(transport.Call(Hypercall.VirtioBindAsyncQueue, 0, 0), Is.EqualTo(VirtioAsyncBinding.Encode(Port, Channel)));
            transport.DriverOk(0);
            bell.Ring();

            Assert.That(SpinWait.SpinUntil(() => async.Faults == 1, Patience), Is.True);
            Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref seen) is not null, Patience), Is.True);
            Assert.That(seen, Is.TypeOf<InvalidOperationException>());
            Assert.That(device.NeedsReset, Is.True);
            Assert.That(Interlocked.Read(ref raised), Is.EqualTo(1));
            Assert.That(async.IsRunning, Is.True, "the thread survives a failed turn");
        }
        Assert.That(async.IsRunning, Is.False);
    }

    /// <summary>A device whose queue processing has a bug.</summary>
    private sealed class ThrowingDevice(GuestMemory memory) : VirtioDevice(memory, VirtioDeviceId.Block, 1, 16, 0, 0)
    {
        protected override int ProcessQueue(int index, SplitVirtqueue queue) => throw new InvalidOperationException("device bug");

        protected override void FillConfig(Span<byte> config)
        {
        }
    }
}
