using System.IO;
using System.Text;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Virtio.Tests;

/// <summary>virtio-blk over a real temporary file, driven through the transport.</summary>
public sealed class VirtioBlockTests
{
    private const ulong Sectors = 64;
    private const ulong Header = 0x10000, Data = 0x20000, Status = 0x30000, Table = 0x40000;
    private GuestMemory _memory = null!;
    private DiskImage _disk = null!;
    private string _path = null!;
    private VirtioTransport _transport = null!;
    private VirtioBlock _block = null!;
    private DriverRing _ring = null!;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(1 << 20);
        _path = Path.Combine(Path.GetTempPath(), $"paravirt-blk-{Guid.NewGuid():N}.img");
        _disk = DiskImage.Create(_path, Sectors);
        _transport = new VirtioTransport(_memory);
        _block = new VirtioBlock(_memory, _disk, id: "paravirt-test-disk-0123456789");
        _transport.Add(_block);
        _ring = new DriverRing(_memory, 16);
        _transport.Negotiate(0, ulong.MaxValue);
        _transport.SetupQueue(0, 0, _ring);
        _transport.DriverOk(0);
    }

    [TearDown]
    public void TearDown()
    {
        _disk.Dispose();
        _memory.Dispose();
        File.Delete(_path);
    }

    private void WriteHeader(uint type, ulong sector) =>
        Assert.That(_memory.TryWrite(Header, new VirtioBlkReqHeader { Type = type, Sector = sector }), Is.True);

    private byte StatusByte()
    {
        Assert.That(_memory.TryRead(Status, out byte status), Is.True);
        return status;
    }

    /// <summary>[header R 16][data (W for IN, R for OUT)][status W 1] as three chained descriptors.</summary>
    private long Submit(uint type, ulong sector, uint dataLength, bool dataWritable)
    {
        WriteHeader(type, sector);
        _memory.TryWrite(Status, (byte)0xFF);
        _ring.SetDesc(0, Header, 16, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, Data, dataLength, (ushort)(VirtqDescFlags.Next | (dataWritable ? VirtqDescFlags.Write : 0)), 2);
        _ring.SetDesc(2, Status, 1, VirtqDescFlags.Write);
        _ring.Publish(0);
        return _transport.Call(Hypercall.VirtioNotify, 0, 0);
    }

    [Test]
    public void ConfigReportsTheCapacityInSectors()
    {
        Assert.That(_transport.Call(Hypercall.VirtioReadConfig, 0, 0, 0x8000, VirtioBlkConfig.Size), Is.EqualTo(VirtioBlkConfig.Size));
        Assert.That(_memory.TryRead(0x8000, out VirtioBlkConfig config), Is.True);
        Assert.That(config.Capacity, Is.EqualTo(Sectors));
        Assert.That(config.BlkSize, Is.EqualTo(512));
        Assert.That(config.SegMax, Is.EqualTo(14), "the queue size the driver set (16) minus header and status");
        Assert.That(_block.IsNegotiated(VirtioBlkFeatures.Flush), Is.True);
    }

    [Test]
    public void SegMaxFollowsTheQueueSizeTheDriverSetNotTheLargestAllowed()
    {
        using var memory = GuestMemory.Create(1 << 20);
        var transport = new VirtioTransport(memory);
        var block = new VirtioBlock(memory, _disk);
        transport.Add(block);
        Assert.That(block.SegmentLimit, Is.EqualTo(block.MaxQueueSize - 2u), "before the driver sets a size");
        transport.Negotiate(0, ulong.MaxValue);
        transport.SetupQueue(0, 0, new DriverRing(memory, 2));
        Assert.That(block.SegmentLimit, Is.EqualTo(1u), "a queue of 2 leaves room for one data segment, at least 1");
    }

    [Test]
    public void ALinuxStyleIndirectRequestLongerThanATinyQueueIsServed()
    {
        // Linux's virtio_ring puts a whole request into one indirect table, checking the queue size
        // only for direct chains: at a queue size of 2, header + 2 data segments + status is a
        // 4-entry table behind a single descriptor.
        using var memory = GuestMemory.Create(1 << 20);
        var transport = new VirtioTransport(memory);
        var block = new VirtioBlock(memory, _disk);
        transport.Add(block);
        var ring = new DriverRing(memory, 2);
        transport.Negotiate(0, ulong.MaxValue);
        transport.SetupQueue(0, 0, ring);
        transport.DriverOk(0);
        byte[] pattern = new byte[1024];
        for (int i = 0; i < pattern.Length; i++)
            pattern[i] = (byte)(i * 7 + 3);
        Assert.That(memory.TryWrite(Data, pattern), Is.True);
        Assert.That(memory.TryWrite(Header, new VirtioBlkReqHeader { Type = VirtioBlkRequestType.Out, Sector = 5 }), Is.True);
        ring.SetTableDesc(Table, 0, Header, 16, VirtqDescFlags.Next, 1);
        ring.SetTableDesc(Table, 1, Data, 512, VirtqDescFlags.Next, 2);
        ring.SetTableDesc(Table, 2, Data + 512, 512, VirtqDescFlags.Next, 3);
        ring.SetTableDesc(Table, 3, Status, 1, VirtqDescFlags.Write);
        ring.SetDesc(0, Table, 4 * 16, VirtqDescFlags.Indirect);
        ring.Publish(0);

        Assert.That(transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1));
        Assert.That(block.NeedsReset, Is.False);
        Assert.That(memory.TryRead(Status, out byte status) && status == VirtioBlkStatus.Ok, Is.True);
        byte[] disk = new byte[1024];
        Assert.That(_disk.TryRead(5, disk), Is.True);
        Assert.That(disk, Is.EqualTo(pattern));
    }

    [Test]
    public void WriteThenReadRoundTripsThroughTheFile()
    {
        byte[] pattern = new byte[1024];
        for (int i = 0; i < pattern.Length; i++)
            pattern[i] = (byte)(i * 7 + 3);
        _memory.TryWrite(Data, pattern);

        Assert.That(Submit(VirtioBlkRequestType.Out, 5, 1024, dataWritable: false), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.Ok));
        Assert.That((_ring.UsedElem(0).Id, _ring.UsedElem(0).Len), Is.EqualTo((0u, 1u)));

        // The bytes are in the file, at sector 5.
        _disk.Dispose();
        byte[] file = File.ReadAllBytes(_path);
        Assert.That(file.AsSpan(5 * 512, 1024).SequenceEqual(pattern), Is.True);
        Assert.That(file.AsSpan(0, 5 * 512).IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
        _disk = DiskImage.Open(_path);
        var block = new VirtioBlock(_memory, _disk);
        var transport = new VirtioTransport(_memory);
        transport.Add(block);
        _ring = new DriverRing(_memory, 16);
        transport.Negotiate(0, ulong.MaxValue);
        transport.SetupQueue(0, 0, _ring);
        transport.DriverOk(0);
        _transport = transport;

        _memory.TryFill(Data, 1024, 0);
        Assert.That(Submit(VirtioBlkRequestType.In, 5, 1024, dataWritable: true), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.Ok));
        Assert.That(_ring.UsedElem(0).Len, Is.EqualTo(1025u), "data plus the status byte");
        Assert.That(_memory.TryGetSpan(Data, 1024, out Span<byte> read), Is.True);
        Assert.That(read.SequenceEqual(pattern), Is.True);
    }

    [Test]
    public void BuffersSplitMidSectorAndAnIndirectTableAreGatheredAndScattered()
    {
        byte[] pattern = new byte[1024];
        Random.Shared.NextBytes(pattern);
        _memory.TryWrite(Data, pattern);
        // OUT through an indirect table: header split 10 + 6, data split 100 + 924, status.
        WriteHeader(VirtioBlkRequestType.Out, 9);
        _ring.SetTableDesc(Table, 0, Header, 10, VirtqDescFlags.Next, 1);
        _ring.SetTableDesc(Table, 1, Header + 10, 6, VirtqDescFlags.Next, 2);
        _ring.SetTableDesc(Table, 2, Data, 100, VirtqDescFlags.Next, 3);
        _ring.SetTableDesc(Table, 3, Data + 100, 924, VirtqDescFlags.Next, 4);
        _ring.SetTableDesc(Table, 4, Status, 1, VirtqDescFlags.Write);
        _ring.SetDesc(3, Table, 5 * 16, VirtqDescFlags.Indirect);
        _ring.Publish(3);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.Ok));

        // IN into 3 buffers of 700, 300 and 24 bytes, the last one shared with the status byte.
        _memory.TryFill(0x50000, 0x2000, 0);
        WriteHeader(VirtioBlkRequestType.In, 9);
        _ring.SetDesc(0, Header, 16, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, 0x50000, 700, VirtqDescFlags.Next | VirtqDescFlags.Write, 2);
        _ring.SetDesc(2, 0x51000, 300, VirtqDescFlags.Next | VirtqDescFlags.Write, 4);
        _ring.SetDesc(4, 0x52000, 25, VirtqDescFlags.Write);
        _ring.Publish(0);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1));
        Assert.That(_memory.TryRead(0x52000 + 24, out byte status), Is.True);
        Assert.That(status, Is.EqualTo(VirtioBlkStatus.Ok));
        byte[] back = new byte[1024];
        _memory.TryRead(0x50000, back.AsSpan(0, 700));
        _memory.TryRead(0x51000, back.AsSpan(700, 300));
        _memory.TryRead(0x52000, back.AsSpan(1000, 24));
        Assert.That(back, Is.EqualTo(pattern));
        Assert.That(_ring.UsedElem(1).Len, Is.EqualTo(1025u));
    }

    [Test]
    public void FlushSucceeds()
    {
        WriteHeader(VirtioBlkRequestType.Flush, 0);
        _memory.TryWrite(Status, (byte)0xFF);
        _ring.SetDesc(0, Header, 16, VirtqDescFlags.Next, 2);
        _ring.SetDesc(2, Status, 1, VirtqDescFlags.Write);
        _ring.Publish(0);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.Ok));
    }

    [Test]
    public void GetIdReturnsTwentyBytes()
    {
        _memory.TryFill(Data, 64, 0xCC);
        Assert.That(Submit(VirtioBlkRequestType.GetId, 0, VirtioBlkConfig.IdBytes, dataWritable: true), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.Ok));
        byte[] id = new byte[VirtioBlkConfig.IdBytes];
        _memory.TryRead(Data, id);
        Assert.That(Encoding.UTF8.GetString(id), Is.EqualTo("paravirt-test-disk-0"));
        Assert.That(_memory.TryRead(Data + 20, out byte after), Is.True);
        Assert.That(after, Is.EqualTo(0xCC), "nothing past 20 bytes");
        Assert.That(_ring.UsedElem(0).Len, Is.EqualTo(21u));
    }

    [TestCase(VirtioBlkRequestType.In, Sectors, 512u, true)]           // starts at the end
    [TestCase(VirtioBlkRequestType.In, Sectors - 1, 1024u, true)]      // runs one sector past the end
    [TestCase(VirtioBlkRequestType.Out, Sectors - 1, 1024u, false)]
    [TestCase(VirtioBlkRequestType.Out, ulong.MaxValue, 512u, false)]  // sector * 512 would overflow
    [TestCase(VirtioBlkRequestType.In, 0UL, 100u, true)]               // not a whole sector
    [TestCase(VirtioBlkRequestType.Out, 0UL, 513u, false)]
    [TestCase(VirtioBlkRequestType.In, 0UL, 512u, false)]              // IN with device-readable data
    [TestCase(VirtioBlkRequestType.Out, 0UL, 512u, true)]              // OUT with device-writable data
    public void BadRequestsGetIoErrAndTouchNothing(uint type, ulong sector, uint length, bool dataWritable)
    {
        _memory.TryFill(Data, 1024, 0x5A);
        Assert.That(Submit(type, sector, length, dataWritable), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.IoErr));
        Assert.That(_ring.UsedElem(0).Len, Is.EqualTo(1u));
        Assert.That(_block.NeedsReset, Is.False, "a bad request is not a ring violation");
        Assert.That(_memory.TryGetSpan(Data, 1024, out Span<byte> data), Is.True);
        Assert.That(data.IndexOfAnyExcept((byte)0x5A), Is.EqualTo(-1));
        _disk.Dispose();
        Assert.That(File.ReadAllBytes(_path).AsSpan().IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
        _disk = DiskImage.Open(_path);
    }

    [Test]
    public void AnUnknownTypeGetsUnsupp()
    {
        Assert.That(Submit(77, 0, 512, dataWritable: true), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.Unsupp));
    }

    [Test]
    public void AHeaderShorterThanSixteenBytesGetsIoErr()
    {
        WriteHeader(VirtioBlkRequestType.In, 0);
        _ring.SetDesc(0, Header, 12, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, Status, 1, VirtqDescFlags.Write);
        _ring.Publish(0);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.IoErr));
    }

    [Test]
    public void ReadableAfterWritableGetsIoErr()
    {
        WriteHeader(VirtioBlkRequestType.Out, 0);
        _ring.SetDesc(0, Header, 16, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, Data, 512, VirtqDescFlags.Next | VirtqDescFlags.Write, 2);
        _ring.SetDesc(2, Data + 512, 512, VirtqDescFlags.Next, 3);
        _ring.SetDesc(3, Status, 1, VirtqDescFlags.Write);
        _ring.Publish(0);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.IoErr));
    }

    [Test]
    public void AChainWithoutAStatusByteIsReturnedWithNothingWritten()
    {
        WriteHeader(VirtioBlkRequestType.In, 0);
        _ring.SetDesc(0, Header, 16);
        _ring.Publish(0);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1));
        Assert.That(_ring.UsedIdx, Is.EqualTo(1));
        Assert.That(_ring.UsedElem(0).Len, Is.Zero);
    }

    [Test]
    public void WritesToAReadOnlyDiskGetIoErr()
    {
        _disk.Dispose();
        _disk = DiskImage.Open(_path, readOnly: true);
        var transport = new VirtioTransport(_memory);
        var block = new VirtioBlock(_memory, _disk);
        transport.Add(block);
        Assert.That(transport.Call(Hypercall.VirtioGetFeatures, 0, 0) & (1L << VirtioBlkFeatures.ReadOnly), Is.Not.Zero);
        transport.Negotiate(0, ulong.MaxValue);
        transport.SetupQueue(0, 0, _ring = new DriverRing(_memory, 16));
        transport.DriverOk(0);
        _transport = transport;
        Assert.That(Submit(VirtioBlkRequestType.Out, 0, 512, dataWritable: false), Is.EqualTo(1));
        Assert.That(StatusByte(), Is.EqualTo(VirtioBlkStatus.IoErr));
    }

    [Test]
    public void ARingViolationSetsNeedsResetAndNotifyFailsUntilReset()
    {
        _ring.Publish(200); // head out of range
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_block.NeedsReset, Is.True);
        Assert.That(_transport.Call(Hypercall.VirtioGetStatus, 0) & VirtioDeviceStatus.DeviceNeedsReset, Is.Not.Zero);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo((long)HypercallStatus.NotPermitted));

        // The driver resets and starts again with a fresh ring: the device works.
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, 0), Is.Zero);
        _memory.TryFill(DriverRing.DescBase, 0x4000, 0);
        _ring = new DriverRing(_memory, 16);
        _transport.Negotiate(0, ulong.MaxValue);
        _transport.SetupQueue(0, 0, _ring);
        _transport.DriverOk(0);
        Assert.That(Submit(VirtioBlkRequestType.Flush, 0, 0, dataWritable: false), Is.EqualTo(1));
    }

    [Test]
    public void ABatchIsCompletedInOneNotify()
    {
        for (ushort i = 0; i < 5; i++)
        {
            ulong status = Status + 16UL * i;
            _ring.SetDesc((uint)(2 * i), Header, 16, VirtqDescFlags.Next, (ushort)(2 * i + 1));
            _ring.SetDesc((uint)(2 * i + 1), status, 1, VirtqDescFlags.Write);
            _ring.Publish((ushort)(2 * i));
        }
        WriteHeader(VirtioBlkRequestType.Flush, 0);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(5));
        Assert.That(_ring.UsedIdx, Is.EqualTo(5));
        Assert.That(_ring.AvailEvent, Is.EqualTo(5), "EVENT_IDX: notify me at the next slot");
    }
}
