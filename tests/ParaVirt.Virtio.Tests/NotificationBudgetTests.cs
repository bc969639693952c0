using System.IO;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Virtio.Tests;

/// <summary>
/// One virtio-blk notification moves at most <see cref="VirtioBlock.NotificationByteBudget"/>:
/// a hostile driver that fills the ring with 1 MiB requests (all naming one chain) cannot make one
/// exit do 256 MiB of disk I/O. The rest stays available and later notifications finish it.
/// </summary>
public sealed class NotificationBudgetTests
{
    private const uint RingSize = 256;
    private const ulong Header = 0x10000, Status = 0x11000, Data = 0x100000;
    private const uint RequestBytes = (uint)VirtioBlock.MaxRequestBytes;
    private const int PerNotification = (int)(VirtioBlock.NotificationByteBudget / VirtioBlock.MaxRequestBytes); // 4

    private GuestMemory _memory = null!;
    private DiskImage _disk = null!;
    private string _path = null!;
    private VirtioTransport _transport = null!;
    private VirtioBlock _block = null!;
    private DriverRing _ring = null!;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(4 << 20);
        _path = Path.Combine(Path.GetTempPath(), $"paravirt-budget-{Guid.NewGuid():N}.img");
        _disk = DiskImage.Create(_path, 4096); // 2 MiB
        _transport = new VirtioTransport(_memory);
        _block = new VirtioBlock(_memory, _disk);
        _transport.Add(_block);
        _ring = new DriverRing(_memory, RingSize);
    }

    [TearDown]
    public void TearDown()
    {
        _disk.Dispose();
        _memory.Dispose();
        File.Delete(_path);
    }

    private void Start(ulong acceptedFeatures)
    {
        _transport.Negotiate(0, acceptedFeatures);
        _transport.SetupQueue(0, 0, _ring);
        _transport.DriverOk(0);
    }

    /// <summary>A full ring of 1 MiB reads, every available entry naming chain 0.</summary>
    private void FillRingWithOneChain()
    {
        Assert.That(_memory.TryWrite(Header, new VirtioBlkReqHeader { Type = VirtioBlkRequestType.In, Sector = 0 }), Is.True);
        _ring.SetDesc(0, Header, 16, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, Data, RequestBytes, VirtqDescFlags.Next | VirtqDescFlags.Write, 2);
        _ring.SetDesc(2, Status, 1, VirtqDescFlags.Write);
        for (int i = 0; i < RingSize; i++)
            _ring.Publish(0);
    }

    private long Notify() => _transport.Call(Hypercall.VirtioNotify, 0, 0);

    [TestCase(false)]
    [TestCase(true)]
    public void AHostileFullRingOfMebibyteRequestsIsProcessedFourMebibytesPerNotification(bool eventIdx)
    {
        Start(eventIdx ? ulong.MaxValue : ulong.MaxValue & ~(1UL << VirtioFeatures.EventIdx));
        FillRingWithOneChain();

        Assert.That(Notify(), Is.EqualTo(PerNotification));
        Assert.That(_ring.UsedIdx, Is.EqualTo(PerNotification));
        ulong bytes = 0;
        for (uint i = 0; i < PerNotification; i++)
        {
            VirtqUsedElem used = _ring.UsedElem(i);
            Assert.That(used.Id, Is.Zero);
            bytes += used.Len - 1u; // the status byte excluded
        }
        Assert.That(bytes, Is.EqualTo(VirtioBlock.NotificationByteBudget));

        // The device asks to be notified again for what it left pending.
        if (eventIdx)
            Assert.That(VirtqLayout.NeedEvent(_ring.AvailEvent, (ushort)(RingSize + 1), (ushort)RingSize), Is.True,
                "avail_event makes the driver's next buffer trigger a notification");
        else
            Assert.That(_ring.UsedFlags & VirtqUsedFlags.NoNotify, Is.Zero);

        int notifications = 1;
        long total = PerNotification;
        while (total < RingSize)
        {
            long done = Notify();
            Assert.That(done, Is.EqualTo(PerNotification), $"notification {notifications + 1}");
            total += done;
            notifications++;
            Assert.That(_ring.UsedIdx, Is.EqualTo((ushort)total));
        }
        Assert.That(notifications, Is.EqualTo(RingSize / PerNotification));
        Assert.That(_memory.TryRead(Status, out byte status) && status == VirtioBlkStatus.Ok, Is.True);
        Assert.That(Notify(), Is.Zero, "nothing left");
        Assert.That(_block.NeedsReset, Is.False);
    }

    [Test]
    public void SmallRequestsFillingTheRingCompleteInOneNotification()
    {
        Start(ulong.MaxValue);
        Assert.That(_memory.TryWrite(Header, new VirtioBlkReqHeader { Type = VirtioBlkRequestType.In, Sector = 0 }), Is.True);
        _ring.SetDesc(0, Header, 16, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, Data, 4096, VirtqDescFlags.Next | VirtqDescFlags.Write, 2);
        _ring.SetDesc(2, Status, 1, VirtqDescFlags.Write);
        for (int i = 0; i < RingSize; i++)
            _ring.Publish(0);

        Assert.That(Notify(), Is.EqualTo(RingSize), "256 x 4 KiB = 1 MiB is within the budget");
    }

    [Test]
    public void AStopRequestLeavesTheChainsPendingForTheNextNotification()
    {
        bool stop = true;
        _block.StopRequested = () => stop;
        Start(ulong.MaxValue);
        FillRingWithOneChain();

        Assert.That(Notify(), Is.Zero, "the VM is stopping: nothing started");
        Assert.That(_ring.UsedIdx, Is.Zero);
        stop = false;
        Assert.That(Notify(), Is.EqualTo(PerNotification));
    }
}
