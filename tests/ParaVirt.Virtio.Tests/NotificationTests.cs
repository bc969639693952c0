using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;

namespace ParaVirt.Virtio.Tests;

/// <summary>vring_need_event and notification suppression in both directions.</summary>
public sealed class NotificationTests
{
    private const uint QueueSize = 16;
    private GuestMemory _memory = null!;
    private DriverRing _ring = null!;
    private SplitVirtqueue _queue = null!;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(1 << 20);
        _ring = new DriverRing(_memory, QueueSize);
        _queue = new SplitVirtqueue(_memory, 256);
        Assert.That(_queue.Setup(_ring.Desc, _ring.Avail, _ring.Used, QueueSize), Is.EqualTo(VirtqueueError.None));
        _ring.SetDesc(0, 0x10000, 8);
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    // vring_need_event(event, new, old): notify iff event lies in [old, new) modulo 2^16.
    [TestCase((ushort)0, (ushort)1, (ushort)0, true)]        // the first entry, the driver waits for it
    [TestCase((ushort)5, (ushort)10, (ushort)0, true)]       // event inside the batch
    [TestCase((ushort)9, (ushort)10, (ushort)0, true)]       // the batch's last entry
    [TestCase((ushort)10, (ushort)10, (ushort)0, false)]     // event not reached yet
    [TestCase((ushort)0, (ushort)10, (ushort)1, false)]      // event already passed before this batch
    [TestCase((ushort)3, (ushort)3, (ushort)3, false)]       // nothing new
    [TestCase((ushort)0xFFFF, (ushort)2, (ushort)0xFFFE, true)]  // across the 16-bit wrap
    [TestCase((ushort)2, (ushort)2, (ushort)0xFFFE, false)]
    [TestCase((ushort)0xFFFD, (ushort)2, (ushort)0xFFFE, false)]
    public void NeedEventTruthTable(ushort eventIdx, ushort newIdx, ushort oldIdx, bool expected) =>
        Assert.That(VirtqLayout.NeedEvent(eventIdx, newIdx, oldIdx), Is.EqualTo(expected));

    private void Complete(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _ring.Publish(0);
            Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True);
            _queue.AddUsed(chain.Head, 0);
        }
    }

    [Test]
    public void WithEventIdxTheDeviceNotifiesOnlyWhenUsedEventIsCrossed()
    {
        _queue.EventIdx = true;
        _ring.SetUsedEvent(2);             // "tell me when used entry 2 is written"
        Complete(2);                       // used idx 0 -> 2: entry 2 not written yet
        Assert.That(_queue.NeedsNotification(), Is.False);
        Complete(1);                       // 2 -> 3
        Assert.That(_queue.NeedsNotification(), Is.True);
        Complete(1);                       // 3 -> 4, event 2 already passed
        Assert.That(_queue.NeedsNotification(), Is.False);
        _ring.SetUsedEvent(4);
        Complete(3);
        Assert.That(_queue.NeedsNotification(), Is.True);
    }

    [Test]
    public void WithEventIdxTheNoInterruptFlagIsIgnored()
    {
        _queue.EventIdx = true;
        _ring.SetAvailFlags(VirtqAvailFlags.NoInterrupt);
        _ring.SetUsedEvent(0);
        Complete(1);
        Assert.That(_queue.NeedsNotification(), Is.True);
    }

    [Test]
    public void WithoutEventIdxNoInterruptSuppressesNotifications()
    {
        Complete(1);
        Assert.That(_queue.NeedsNotification(), Is.True);
        Assert.That(_queue.NeedsNotification(), Is.False, "nothing new since the last decision");
        _ring.SetAvailFlags(VirtqAvailFlags.NoInterrupt);
        Complete(1);
        Assert.That(_queue.NeedsNotification(), Is.False);
    }

    [Test]
    public void WithoutEventIdxDisableSetsNoNotifyAndEnableClearsIt()
    {
        _queue.DisableNotification();
        Assert.That(_ring.UsedFlags, Is.EqualTo(VirtqUsedFlags.NoNotify));
        Assert.That(_queue.EnableNotification(), Is.False);
        Assert.That(_ring.UsedFlags, Is.Zero);
    }

    [Test]
    public void WithEventIdxEnableWritesAvailEventAsTheNextSlot()
    {
        _queue.EventIdx = true;
        Complete(5);
        Assert.That(_queue.EnableNotification(), Is.False);
        Assert.That(_ring.AvailEvent, Is.EqualTo(5));
        Assert.That(_ring.UsedFlags, Is.Zero, "the flag is not used with EVENT_IDX");
        // Disable leaves avail_event stale, so the driver stops notifying once it passed it.
        _queue.DisableNotification();
        Complete(2);
        Assert.That(_ring.AvailEvent, Is.EqualTo(5));
    }

    [Test]
    public void EnableReportsBuffersAddedWhileNotificationsWereOff()
    {
        _queue.DisableNotification();
        _ring.Publish(0);
        Assert.That(_queue.EnableNotification(), Is.True, "the device must look again rather than wait");
        Assert.That(_queue.TryPop(out _), Is.True);
    }

    [Test]
    public void EnableValidatesTheAvailableIndexItReads()
    {
        _ring.SetAvailIdx(1000);
        Assert.That(_queue.EnableNotification(), Is.False);
        Assert.That(_queue.Error, Is.EqualTo(VirtqueueError.AvailIndexTooFarAhead));
    }
}
