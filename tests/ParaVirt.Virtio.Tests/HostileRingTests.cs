using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;

namespace ParaVirt.Virtio.Tests;

/// <summary>
/// A hostile driver: every violation stops the queue with a sticky error, pops nothing, and
/// writes nothing to the used ring.
/// </summary>
public sealed class HostileRingTests
{
    private const uint QueueSize = 16;
    private const ulong MemorySize = 1 << 20;
    private GuestMemory _memory = null!;
    private DriverRing _ring = null!;
    private SplitVirtqueue _queue = null!;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(MemorySize);
        _ring = new DriverRing(_memory, QueueSize);
        _queue = new SplitVirtqueue(_memory, 256) { IndirectDescriptors = true };
        Assert.That(_queue.Setup(_ring.Desc, _ring.Avail, _ring.Used, QueueSize), Is.EqualTo(VirtqueueError.None));
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    private void AssertBroken(VirtqueueError expected)
    {
        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.False);
        Assert.That(chain.Count, Is.Zero);
        Assert.That(_queue.Error, Is.EqualTo(expected));
        Assert.That(_ring.UsedIdx, Is.Zero, "nothing may be completed");
        // Sticky: a well-formed chain afterwards is not processed until a reset.
        _ring.SetDesc(15, 0x10000, 1);
        _ring.Publish(15);
        Assert.That(_queue.TryPop(out _), Is.False);
        Assert.That(_queue.Error, Is.EqualTo(expected));
    }

    [Test]
    public void ADescriptorLoopIsCaughtAsAChainLongerThanTheQueue()
    {
        _ring.SetDesc(0, 0x10000, 8, VirtqDescFlags.Next, next: 1);
        _ring.SetDesc(1, 0x10000, 8, VirtqDescFlags.Next, next: 0);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.ChainTooLong);
    }

    [Test]
    public void ASelfLoopIsCaught()
    {
        _ring.SetDesc(6, 0x10000, 8, VirtqDescFlags.Next, next: 6);
        _ring.Publish(6);
        AssertBroken(VirtqueueError.ChainTooLong);
    }

    [Test]
    public void AChainOfExactlyQueueSizeDescriptorsIsAllowed()
    {
        for (uint i = 0; i < QueueSize; i++)
            _ring.SetDesc(i, 0x10000, 8, i + 1 < QueueSize ? VirtqDescFlags.Next : (ushort)0, (ushort)(i + 1));
        _ring.Publish(0);
        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True);
        Assert.That(chain.Count, Is.EqualTo(QueueSize));
    }

    [TestCase((ushort)16)]
    [TestCase((ushort)0xFFFF)]
    public void AHeadOutsideTheTableIsRefused(ushort head)
    {
        _ring.Publish(head);
        AssertBroken(VirtqueueError.HeadOutOfRange);
    }

    [Test]
    public void ANextOutsideTheTableIsRefused()
    {
        _ring.SetDesc(0, 0x10000, 8, VirtqDescFlags.Next, next: 16);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.NextOutOfRange);
    }

    [TestCase((ushort)17)]
    [TestCase((ushort)0x8000)]
    [TestCase((ushort)0xFFFF)]   // "behind" the device: also more than a ring ahead modulo 2^16
    public void AnAvailableIndexMoreThanTheQueueSizeAheadIsRefused(ushort idx)
    {
        _ring.SetAvailIdx(idx);
        AssertBroken(VirtqueueError.AvailIndexTooFarAhead);
    }

    [Test]
    public void AnAvailableIndexExactlyOneRingAheadIsAccepted()
    {
        _ring.SetDesc(0, 0x10000, 8);
        _ring.SetAvailIdx((ushort)QueueSize); // all 16 slots hold head 0 (zeroed memory)
        for (int i = 0; i < QueueSize; i++)
            Assert.That(_queue.TryPop(out _), Is.True);
        Assert.That(_queue.Error, Is.EqualTo(VirtqueueError.None));
    }

    [TestCase(MemorySize, 1u)]                       // starts at the end
    [TestCase(MemorySize - 8, 9u)]                   // runs one byte past the end
    [TestCase(0x10000UL, 0xFFFF_FFFFu)]              // 4 GiB in a 1 MiB guest
    [TestCase(0xFFFF_FFFF_FFFF_FFF0UL, 0x20u)]       // addr + len wraps 2^64
    [TestCase(0xFFFF_FFFF_FFFF_FFFFUL, 1u)]
    public void ABufferOutsideGuestMemoryIsRefused(ulong addr, uint len)
    {
        _ring.SetDesc(0, 0x10000, 8, VirtqDescFlags.Next, next: 1);
        _ring.SetDesc(1, addr, len, VirtqDescFlags.Write);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.DescriptorOutsideMemory);
    }

    [Test]
    public void ABufferEndingExactlyAtTheEndOfMemoryIsAccepted()
    {
        _ring.SetDesc(0, MemorySize - 8, 8, VirtqDescFlags.Write);
        _ring.Publish(0);
        Assert.That(_queue.TryPop(out _), Is.True);
    }

    [Test]
    public void IndirectWithoutTheFeatureIsRefused()
    {
        _queue.IndirectDescriptors = false;
        _ring.SetTableDesc(0x20000, 0, 0x10000, 8);
        _ring.SetDesc(0, 0x20000, 16, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.IndirectNotNegotiated);
    }

    [Test]
    public void IndirectTogetherWithNextIsRefused()
    {
        _ring.SetTableDesc(0x20000, 0, 0x10000, 8);
        _ring.SetDesc(0, 0x20000, 16, VirtqDescFlags.Indirect | VirtqDescFlags.Next, next: 1);
        _ring.SetDesc(1, 0x10000, 8);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.IndirectWithNext);
    }

    [Test]
    public void NestedIndirectTablesAreRefused()
    {
        _ring.SetTableDesc(0x21000, 0, 0x10000, 8);
        _ring.SetTableDesc(0x20000, 0, 0x21000, 16, VirtqDescFlags.Indirect);
        _ring.SetDesc(0, 0x20000, 16, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.NestedIndirect);
    }

    [TestCase(0u)]
    [TestCase(8u)]
    [TestCase(24u)]                 // not a multiple of 16
    [TestCase((SplitVirtqueue.MaxIndirectTableEntries + 1u) * 16)] // more entries than any table may hold
    public void IndirectTablesOfABadLengthAreRefused(uint length)
    {
        _ring.SetDesc(0, 0x20000, length, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.IndirectTableLength);
    }

    [Test]
    public void AnIndirectTableLongerThanTheQueueIsAcceptedUpToTheFixedBound()
    {
        // 1024 entries behind one descriptor of a 16-entry queue: accepted (Linux does this at small
        // queue sizes), and walked once.
        const uint Entries = SplitVirtqueue.MaxIndirectTableEntries;
        for (uint i = 0; i < Entries; i++)
            _ring.SetTableDesc(0x20000, i, 0x10000, 8, i + 1 < Entries ? VirtqDescFlags.Next : (ushort)0, (ushort)(i + 1));
        _ring.SetDesc(0, 0x20000, Entries * 16, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True, _queue.Error.ToString());
        Assert.That(chain.Count, Is.EqualTo((int)Entries));
        Assert.That(_queue.Error, Is.EqualTo(VirtqueueError.None));
    }

    [Test]
    public void ALoopThroughAFullSizeIndirectTableIsCaught()
    {
        const uint Entries = SplitVirtqueue.MaxIndirectTableEntries;
        for (uint i = 0; i < Entries; i++)
            _ring.SetTableDesc(0x20000, i, 0x10000, 8, VirtqDescFlags.Next, (ushort)((i + 1) % Entries));
        _ring.SetDesc(0, 0x20000, Entries * 16, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.ChainTooLong);
    }

    [Test]
    public void AnIndirectTableOutsideGuestMemoryIsRefused()
    {
        _ring.SetDesc(0, MemorySize - 16, 32, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.DescriptorOutsideMemory);
    }

    [Test]
    public void ALoopInsideAnIndirectTableIsCaught()
    {
        _ring.SetTableDesc(0x20000, 0, 0x10000, 8, VirtqDescFlags.Next, next: 1);
        _ring.SetTableDesc(0x20000, 1, 0x10000, 8, VirtqDescFlags.Next, next: 0);
        _ring.SetDesc(0, 0x20000, 32, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.ChainTooLong);
    }

    [Test]
    public void ANextOutsideTheIndirectTableIsRefused()
    {
        _ring.SetTableDesc(0x20000, 0, 0x10000, 8, VirtqDescFlags.Next, next: 2);
        _ring.SetDesc(0, 0x20000, 32, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.NextOutOfRange);
    }

    [Test]
    public void ABufferOutsideMemoryInsideAnIndirectTableIsRefused()
    {
        _ring.SetTableDesc(0x20000, 0, 0xFFFF_FFFF_FFFF_F000, 0x2000);
        _ring.SetDesc(0, 0x20000, 16, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        AssertBroken(VirtqueueError.DescriptorOutsideMemory);
    }

    [Test]
    public void ADirectPrefixAndAnIndirectTableAreBoundedSeparately()
    {
        // One direct descriptor, then a 16-entry table: 17 buffers on a 16-entry queue. The direct
        // part is bounded by the queue size, the table by MaxIndirectTableEntries; the chain array
        // holds both, so the walk is bounded by queue size + table bound.
        for (uint i = 0; i < 16; i++)
            _ring.SetTableDesc(0x20000, i, 0x10000, 8, i < 15 ? VirtqDescFlags.Next : (ushort)0, (ushort)(i + 1));
        _ring.SetDesc(0, 0x10000, 8, VirtqDescFlags.Next, next: 1);
        _ring.SetDesc(1, 0x20000, 16 * 16, VirtqDescFlags.Indirect);
        _ring.Publish(0);
        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True, _queue.Error.ToString());
        Assert.That(chain.Count, Is.EqualTo(17));
    }

    [Test]
    public void ChainsBeforeTheViolationAreStillDeliveredAndCanBeCompleted()
    {
        _ring.SetDesc(0, 0x10000, 8);
        _ring.Publish(0);
        _ring.Publish(200);
        Assert.That(_queue.TryPop(out DescriptorChain good), Is.True);
        Assert.That(_queue.TryPop(out _), Is.False);
        Assert.That(_queue.Error, Is.EqualTo(VirtqueueError.HeadOutOfRange));
        _queue.AddUsed(good.Head, 0);
        Assert.That(_ring.UsedIdx, Is.EqualTo(1));
    }

    [Test]
    public void ResetAndSetupClearTheError()
    {
        _ring.Publish(99);
        Assert.That(_queue.TryPop(out _), Is.False);
        Assert.That(_queue.Error, Is.Not.EqualTo(VirtqueueError.None));
        _queue.Reset();
        Assert.That(_queue.Error, Is.EqualTo(VirtqueueError.None));
    }
}
