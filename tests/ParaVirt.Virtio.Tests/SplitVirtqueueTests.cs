using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;

namespace ParaVirt.Virtio.Tests;

/// <summary>Well-formed chains: direct, chained, indirect, and the used ring they produce.</summary>
public sealed class SplitVirtqueueTests
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
        _queue = new SplitVirtqueue(_memory, 256) { IndirectDescriptors = true };
        Assert.That(_queue.Setup(_ring.Desc, _ring.Avail, _ring.Used, QueueSize), Is.EqualTo(VirtqueueError.None));
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    [Test]
    public void EmptyRingPopsNothing()
    {
        Assert.That(_queue.TryPop(out _), Is.False);
        Assert.That(_queue.Error, Is.EqualTo(VirtqueueError.None));
    }

    [Test]
    public void SingleDescriptorChainIsPoppedWithItsBuffer()
    {
        _ring.SetDesc(3, 0x10000, 100, VirtqDescFlags.Write);
        _ring.Publish(3);

        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True);
        Assert.That(chain.Head, Is.EqualTo(3));
        Assert.That(chain.Count, Is.EqualTo(1));
        VirtqBuffer buffer = chain.Buffers[0];
        Assert.That((buffer.Address, buffer.Length, buffer.IsWriteOnly), Is.EqualTo((0x10000UL, 100u, true)));
        Assert.That((chain.ReadableBytes, chain.WritableBytes), Is.EqualTo((0UL, 100UL)));
        Assert.That(_queue.TryPop(out _), Is.False);
    }

    [Test]
    public void ChainedDescriptorsAreFollowedInNextOrder()
    {
        _ring.SetDesc(0, 0x10000, 16, VirtqDescFlags.Next, next: 5);
        _ring.SetDesc(5, 0x11000, 512, VirtqDescFlags.Next | VirtqDescFlags.Write, next: 2);
        _ring.SetDesc(2, 0x12000, 1, VirtqDescFlags.Write);
        _ring.Publish(0);

        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True);
        Assert.That(chain.Count, Is.EqualTo(3));
        Assert.That(chain.Buffers[0].Address, Is.EqualTo(0x10000UL));
        Assert.That(chain.Buffers[1].Address, Is.EqualTo(0x11000UL));
        Assert.That(chain.Buffers[2].Address, Is.EqualTo(0x12000UL));
        Assert.That((chain.ReadableBytes, chain.WritableBytes), Is.EqualTo((16UL, 513UL)));
    }

    [Test]
    public void IndirectTableIsFlattenedAfterDirectDescriptors()
    {
        const ulong table = 0x20000;
        _ring.SetTableDesc(table, 0, 0x30000, 8, VirtqDescFlags.Next, next: 2);
        _ring.SetTableDesc(table, 2, 0x31000, 64, VirtqDescFlags.Next | VirtqDescFlags.Write, next: 1);
        _ring.SetTableDesc(table, 1, 0x32000, 4, VirtqDescFlags.Write);
        _ring.SetDesc(7, 0x10000, 16, VirtqDescFlags.Next, next: 8);
        _ring.SetDesc(8, table, 3 * 16, VirtqDescFlags.Indirect);
        _ring.Publish(7);

        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True);
        Assert.That(chain.Head, Is.EqualTo(7));
        Assert.That(chain.Count, Is.EqualTo(4));
        ulong[] addresses = new ulong[chain.Count];
        for (int i = 0; i < chain.Count; i++)
            addresses[i] = chain.Buffers[i].Address;
        Assert.That(addresses, Is.EqualTo(new ulong[] { 0x10000, 0x30000, 0x31000, 0x32000 }));
        Assert.That((chain.ReadableBytes, chain.WritableBytes), Is.EqualTo((24UL, 68UL)));
    }

    [Test]
    public void AddUsedWritesTheElementAndPublishesTheIndex()
    {
        _ring.SetDesc(4, 0x10000, 32, VirtqDescFlags.Write);
        _ring.Publish(4);
        _ring.SetDesc(9, 0x11000, 32);
        _ring.Publish(9);

        Assert.That(_queue.TryPop(out DescriptorChain first), Is.True);
        _queue.AddUsed(first.Head, 32);
        Assert.That(_ring.UsedIdx, Is.EqualTo(1));
        Assert.That(_queue.TryPop(out DescriptorChain second), Is.True);
        _queue.AddUsed(second.Head, 0);

        Assert.That(_ring.UsedIdx, Is.EqualTo(2));
        Assert.That((_ring.UsedElem(0).Id, _ring.UsedElem(0).Len), Is.EqualTo((4u, 32u)));
        Assert.That((_ring.UsedElem(1).Id, _ring.UsedElem(1).Len), Is.EqualTo((9u, 0u)));
    }

    [Test]
    public void IndicesWrapAroundTheRingAndTheSixteenBitCounter()
    {
        _ring.SetDesc(1, 0x10000, 8);
        // Start both sides just below the 16-bit wrap: 70000 chains through a 16-entry ring.
        for (int i = 0; i < 70000; i++)
        {
            _ring.Publish(1);
            Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True, $"pop {i}");
            _queue.AddUsed(chain.Head, (uint)i);
        }
        Assert.That(_ring.UsedIdx, Is.EqualTo(unchecked((ushort)70000)));
        Assert.That(_ring.UsedElem(unchecked((ushort)69999)).Len, Is.EqualTo(69999u));
        Assert.That(_queue.Error, Is.EqualTo(VirtqueueError.None));
    }

    [Test]
    public void AFullRingOfChainsIsAccepted()
    {
        for (ushort i = 0; i < QueueSize; i++)
        {
            _ring.SetDesc(i, 0x10000 + 0x100UL * i, 16);
            _ring.Publish(i);
        }
        for (int i = 0; i < QueueSize; i++)
            Assert.That(_queue.TryPop(out _), Is.True);
        Assert.That(_queue.TryPop(out _), Is.False);
        Assert.That(_queue.Error, Is.EqualTo(VirtqueueError.None));
    }

    [Test]
    public void TheBuffersAreACopy_RewritingTheDescriptorAfterPopChangesNothing()
    {
        _ring.SetDesc(0, 0x10000, 16);
        _ring.Publish(0);
        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True);

        _ring.SetDesc(0, 0xFFFF_FFFF_0000, 0xFFFF_FFFF); // the guest rewrites it: too late
        Assert.That(chain.Buffers[0].Address, Is.EqualTo(0x10000UL));
        Assert.That(chain.Buffers[0].Length, Is.EqualTo(16u));
    }

    [Test]
    public void AStaleChainThrowsInsteadOfShowingAnotherChainsBuffers()
    {
        _ring.SetDesc(0, 0x10000, 16);
        _ring.Publish(0);
        _ring.Publish(0);
        Assert.That(_queue.TryPop(out DescriptorChain first), Is.True);
        Assert.That(_queue.TryPop(out _), Is.True);
        Assert.Throws<InvalidOperationException>(() => _ = first.Buffers.Length);
    }

    [Test]
    public void ChainSpansPointIntoGuestMemory()
    {
        _ring.SetDesc(0, 0x10000, 4, VirtqDescFlags.Write);
        _ring.Publish(0);
        Assert.That(_queue.TryPop(out DescriptorChain chain), Is.True);
        Assert.That(chain.TryGetSpan(chain.Buffers[0], out Span<byte> bytes), Is.True);
        bytes.Fill(0xAB);
        Assert.That(_memory.TryRead(0x10000, out uint value), Is.True);
        Assert.That(value, Is.EqualTo(0xABABABABu));
    }

    [Test]
    public void ResetForgetsTheRings()
    {
        _queue.Reset();
        Assert.That(_queue.IsReady, Is.False);
        Assert.That(_queue.TryPop(out _), Is.False);
        Assert.Throws<InvalidOperationException>(() => _queue.AddUsed(0, 0));
    }

    [Test]
    public void AddUsedRejectsAHeadOutsideTheQueue() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _queue.AddUsed((ushort)QueueSize, 0));
}
