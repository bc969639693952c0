using ParaVirt.Core.Memory;

namespace ParaVirt.Virtio.Tests;

/// <summary>Setup-time validation: queue size, ring placement and alignment.</summary>
public sealed class SplitVirtqueueSetupTests
{
    private const ulong MemorySize = 1 << 20;
    private GuestMemory _memory = null!;
    private SplitVirtqueue _queue = null!;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(MemorySize);
        _queue = new SplitVirtqueue(_memory, 256);
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    [TestCase(0u)]
    [TestCase(3u)]
    [TestCase(100u)]
    [TestCase(512u)]      // above this queue's maximum
    [TestCase(65536u)]
    public void SizesThatAreNotPowersOfTwoUpToTheMaximumAreRefused(uint size)
    {
        Assert.That(_queue.Setup(0x1000, 0x3000, 0x4000, size), Is.EqualTo(VirtqueueError.InvalidSize));
        Assert.That(_queue.IsReady, Is.False);
    }

    [TestCase(1u)]
    [TestCase(2u)]
    [TestCase(256u)]
    public void PowersOfTwoUpToTheMaximumAreAccepted(uint size)
    {
        Assert.That(_queue.Setup(0x10000, 0x20000, 0x30000, size), Is.EqualTo(VirtqueueError.None));
        Assert.That(_queue.IsReady, Is.True);
        Assert.That(_queue.Size, Is.EqualTo(size));
    }

    [Test]
    public void TheLargestQueueSizeIs32768()
    {
        var big = new SplitVirtqueue(_memory, 32768);
        Assert.That(big.Setup(0, 0x80000, 0xA0000, 32768), Is.EqualTo(VirtqueueError.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SplitVirtqueue(_memory, 65535));
    }

    [TestCase(0x1008UL, 0x3000UL, 0x4000UL)] // descriptor table not 16-aligned
    [TestCase(0x1000UL, 0x3001UL, 0x4000UL)] // available ring odd
    [TestCase(0x1000UL, 0x3000UL, 0x4002UL)] // used ring not 4-aligned
    public void MisalignedRingsAreRefused(ulong desc, ulong avail, ulong used) =>
        Assert.That(_queue.Setup(desc, avail, used, 16), Is.EqualTo(VirtqueueError.RingMisaligned));

    [TestCase(MemorySize, 0x3000UL, 0x4000UL)]                  // table starts at the end of memory
    [TestCase(MemorySize - 16 * 16 + 16, 0x3000UL, 0x4000UL)]   // table's last entry leaves memory
    [TestCase(0x1000UL, MemorySize - 4, 0x4000UL)]              // avail ring (6 + 2n bytes) runs off the end
    [TestCase(0x1000UL, 0x3000UL, MemorySize - 8 * 16)]         // used ring (6 + 8n bytes) runs off the end
    [TestCase(0x1000UL, 0x3000UL, 0xFFFF_FFFF_FFFF_FFF0UL)]     // address + size wraps 2^64
    [TestCase(0xFFFF_FFFF_FFFF_FF00UL, 0x3000UL, 0x4000UL)]
    public void RingsOutsideGuestMemoryAreRefusedAndNothingIsWritten(ulong desc, ulong avail, ulong used)
    {
        _memory.TryFill(0, MemorySize, 0xEE);
        Assert.That(_queue.Setup(desc, avail, used, 16), Is.EqualTo(VirtqueueError.RingOutsideMemory));
        Assert.That(_queue.IsReady, Is.False);
        Assert.That(_memory.TryGetSpan(0, MemorySize, out Span<byte> all), Is.True);
        Assert.That(all.IndexOfAnyExcept((byte)0xEE), Is.EqualTo(-1));
    }

    [Test]
    public void ARingStraddlingTwoRegionsIsRefused()
    {
        using var split = GuestMemory.Create([(0UL, 0x10000UL), (0x10000UL, 0x10000UL)]);
        var queue = new SplitVirtqueue(split, 256);
        // 16 descriptors = 256 bytes starting 128 bytes before the region boundary.
        Assert.That(queue.Setup(0x10000 - 128, 0x3000, 0x4000, 16), Is.EqualTo(VirtqueueError.RingOutsideMemory));
    }

    [Test]
    public void SetupClearsTheDeviceOwnedUsedRingHead()
    {
        _memory.TryWrite(0x4000, 0xFFFF_FFFFu);
        Assert.That(_queue.Setup(0x1000, 0x3000, 0x4000, 16), Is.EqualTo(VirtqueueError.None));
        Assert.That(_memory.TryRead(0x4000, out uint head), Is.True);
        Assert.That(head, Is.Zero);
    }
}
