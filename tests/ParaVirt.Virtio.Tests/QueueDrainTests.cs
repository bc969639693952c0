using System.Collections.Generic;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Virtio.Tests;

/// <summary>
/// <see cref="QueueDrain"/>, the notification loop of every device: notifications suppressed while
/// it works and re-enabled when the ring is empty, a chain started only while a whole chain's work
/// fits the budget, the rest deferred to the next notification, a stop request honoured between
/// chains, and nothing allocated.
/// </summary>
public sealed class QueueDrainTests
{
    private const uint QueueSize = 16;
    private const ulong Buffer = 0x10000;
    private GuestMemory _memory = null!;
    private DriverRing _ring = null!;
    private SplitVirtqueue _queue = null!;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(1 << 20);
        _ring = new DriverRing(_memory, QueueSize);
        _queue = new SplitVirtqueue(_memory, 256); // without EVENT_IDX: suppression shows in used->flags
        Assert.That(_queue.Setup(_ring.Desc, _ring.Avail, _ring.Used, QueueSize), Is.EqualTo(VirtqueueError.None));
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    private void PublishChains(int count)
    {
        for (int i = 0; i < count; i++)
        {
            uint head = (uint)(_ring.AvailIdx % QueueSize);
            _ring.SetDesc(head, Buffer + 0x100UL * head, 64, VirtqDescFlags.Write);
            _ring.Publish((ushort)head);
        }
    }

    [Test]
    public void EveryAvailableChainIsCompletedAndNotificationsAreEnabledAgainAtTheEnd()
    {
        PublishChains(3);
        var drain = new QueueDrain(_queue, workBudget: 1000, maxWorkPerChain: 10, stopRequested: null);
        var suppressedWhileWorking = new List<bool>();
        while (drain.TryNext(out DescriptorChain chain))
        {
            suppressedWhileWorking.Add((_ring.UsedFlags & VirtqUsedFlags.NoNotify) != 0);
            drain.Complete(chain, 64, work: 10);
        }

        Assert.That(drain.Completed, Is.EqualTo(3));
        Assert.That(drain.Work, Is.EqualTo(30));
        Assert.That(drain.Deferred, Is.False);
        Assert.That(suppressedWhileWorking, Is.EqualTo(new[] { true, true, true }));
        Assert.That(_ring.UsedIdx, Is.EqualTo(3));
        Assert.That(_ring.UsedElem(2).Len, Is.EqualTo(64u));
        Assert.That(_ring.UsedFlags & VirtqUsedFlags.NoNotify, Is.Zero, "notifications enabled again once the ring is empty");
    }

    [Test]
    public void ChainsAddedWhileTheDeviceWorksAreTakenInTheSameNotification()
    {
        PublishChains(1);
        var drain = new QueueDrain(_queue, workBudget: 1000, maxWorkPerChain: 10, stopRequested: null);
        int seen = 0;
        while (drain.TryNext(out DescriptorChain chain))
        {
            if (seen++ == 0)
                PublishChains(2); // the driver adds more without notifying (suppressed)
            drain.Complete(chain, 0, work: 1);
        }
        Assert.That(drain.Completed, Is.EqualTo(3));
        Assert.That(_ring.UsedIdx, Is.EqualTo(3));
    }

    [Test]
    public void AChainStartsOnlyWhileAWholeChainFitsTheBudgetAndTheRestWaitsForTheNextNotification()
    {
        PublishChains(5);
        // Budget 100, 40 per chain: chains start at work 0 and 40; at 80 a third would pass 100.
        var drain = new QueueDrain(_queue, workBudget: 100, maxWorkPerChain: 40, stopRequested: null);
        while (drain.TryNext(out DescriptorChain chain))
            drain.Complete(chain, 0, work: 40);

        Assert.That(drain.Completed, Is.EqualTo(2));
        Assert.That(drain.Deferred, Is.True);
        Assert.That(_ring.UsedIdx, Is.EqualTo(2));
        Assert.That(_ring.UsedFlags & VirtqUsedFlags.NoNotify, Is.Zero, "the driver is asked to notify again for the deferred chains");

        var next = new QueueDrain(_queue, workBudget: 100, maxWorkPerChain: 40, stopRequested: null);
        while (next.TryNext(out DescriptorChain chain))
            next.Complete(chain, 0, work: 40);
        Assert.That((next.Completed, next.Deferred), Is.EqualTo((2, true)));

        var last = new QueueDrain(_queue, workBudget: 100, maxWorkPerChain: 40, stopRequested: null);
        while (last.TryNext(out DescriptorChain chain))
            last.Complete(chain, 0, work: 40);
        Assert.That((last.Completed, last.Deferred), Is.EqualTo((1, false)));
        Assert.That(_ring.UsedIdx, Is.EqualTo(5));
    }

    [Test]
    public void AStopRequestEndsTheLoopBetweenChainsLeavingTheRestAvailable()
    {
        PublishChains(4);
        int asked = 0;
        var drain = new QueueDrain(_queue, workBudget: 1000, maxWorkPerChain: 1, stopRequested: () => ++asked > 1);
        while (drain.TryNext(out DescriptorChain chain))
            drain.Complete(chain, 0, work: 1);

        Assert.That((drain.Completed, drain.Deferred), Is.EqualTo((1, true)));
        Assert.That(_ring.UsedIdx, Is.EqualTo(1));
        Assert.That(_queue.NextAvail, Is.EqualTo(1), "the other three chains stay in the available ring");
    }

    [Test]
    public void ABrokenRingEndsTheLoopWithTheErrorOnTheQueue()
    {
        _ring.SetAvailIdx((ushort)(QueueSize + 1)); // more chains than the ring holds
        var drain = new QueueDrain(_queue, workBudget: 1000, maxWorkPerChain: 1, stopRequested: null);
        Assert.That(drain.TryNext(out _), Is.False);
        Assert.That(drain.TryNext(out _), Is.False);
        Assert.That(_queue.Error, Is.Not.EqualTo(VirtqueueError.None));
    }

    [Test]
    public void ABudgetSmallerThanOneChainIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new QueueDrain(_queue, workBudget: 10, maxWorkPerChain: 11, stopRequested: null));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new QueueDrain(_queue, workBudget: 10, maxWorkPerChain: -1, stopRequested: null));
    }

    [Test]
    public void DrainingAllocatesNothing()
    {
        static int Drain(SplitVirtqueue queue)
        {
            var drain = new QueueDrain(queue, workBudget: 1 << 20, maxWorkPerChain: 64, stopRequested: null);
            while (drain.TryNext(out DescriptorChain chain))
                drain.Complete(chain, 64, work: 64);
            return drain.Completed;
        }
        PublishChains(8);
        Assert.That(Drain(_queue), Is.EqualTo(8)); // warm up
        PublishChains(8);
        long before = GC.GetAllocatedBytesForCurrentThread();
        int completed = Drain(_queue);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That((completed, allocated), Is.EqualTo((8, 0L)));
    }
}
