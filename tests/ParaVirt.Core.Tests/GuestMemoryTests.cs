using ParaVirt.Core.Memory;

namespace ParaVirt.Core.Tests;

public class GuestMemoryTests
{
    [Test]
    public void ReadsBackWhatWasWritten()
    {
        using var memory = GuestMemory.Create(1 << 20);
        Assert.That(memory.TryWrite(0x1000, 0x1122334455667788UL), Is.True);
        Assert.That(memory.TryRead(0x1000, out ulong value), Is.True);
        Assert.That(value, Is.EqualTo(0x1122334455667788UL));
    }

    [TestCase(0xFFFFFUL, 2UL)]                 // straddles the end
    [TestCase(0x100000UL, 1UL)]                // one past the end
    [TestCase(0x10UL, ulong.MaxValue)]          // length overflows
    [TestCase(ulong.MaxValue, 2UL)]             // address + length wraps
    [TestCase(ulong.MaxValue - 7, 8UL)]
    public void RefusesRangesOutsideGuestMemory(ulong address, ulong length)
    {
        using var memory = GuestMemory.Create(1 << 20);
        Assert.That(memory.IsValid(address, length), Is.False);
        Assert.That(memory.TryGetSpan(address, length, out _), Is.False);
        Assert.That(memory.TryFill(address, length, 0), Is.False);
    }

    [Test]
    public void AcceptsTheLastByteAndAnEmptyRangeAtTheEnd()
    {
        using var memory = GuestMemory.Create(1 << 20);
        Assert.That(memory.IsValid(0xFFFFF, 1), Is.True);
        Assert.That(memory.IsValid(0x100000, 0), Is.True);
        Assert.That(memory.TryRead(0xFFFF8, out ulong _), Is.True);
        Assert.That(memory.TryRead(0xFFFF9, out ulong _), Is.False);
    }

    [Test]
    public void AnAccessMayNotStraddleTwoRegions()
    {
        using var memory = GuestMemory.Create([(0UL, 0x1000UL), (0x1000UL, 0x1000UL)]);
        Assert.That(memory.Regions.Length, Is.EqualTo(2));
        Assert.That(memory.IsValid(0xFFC, 4), Is.True);
        Assert.That(memory.IsValid(0xFFC, 8), Is.False);
        Assert.That(memory.IsValid(0x1000, 8), Is.True);
    }

    [Test]
    public void RefusesOverlappingOrUnalignedRegions()
    {
        Assert.Throws<ArgumentException>(() => GuestMemory.Create([(0UL, 0x2000UL), (0x1000UL, 0x1000UL)]));
        Assert.Throws<ArgumentException>(() => GuestMemory.Create([(0x10UL, 0x1000UL)]));
        Assert.That(() => GuestMemory.Create(0), Throws.InstanceOf<ArgumentException>());
    }

    [Test]
    public void EveryAccessFailsAfterDispose()
    {
        var memory = GuestMemory.Create(1 << 20);
        memory.Dispose();
        Assert.That(memory.TryRead(0, out ulong _), Is.False);
        Assert.That(memory.TryWrite(0, 1UL), Is.False);
    }

    [Test]
    public void MemoryIsZeroFilledAndOutsideTheGcHeap()
    {
        using var memory = GuestMemory.Create(1 << 20);
        Assert.That(memory.TryGetSpan(0, 4096, out Span<byte> page), Is.True);
        Assert.That(page.IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
        // The span points straight at the mmap'd region: no managed array sits behind it.
        unsafe
        {
            fixed (byte* p = page)
                Assert.That((nint)p, Is.EqualTo(memory.Regions[0].HostAddress));
        }
    }

    [Test]
    public void AViewAdmitsOnlyItsRangesAndSharesTheBytes()
    {
        using var memory = GuestMemory.Create(1 << 20);
        GuestMemory view = memory.Restrict([(0x10000UL, 0x3000UL), (0x80000UL, 0x80000UL)]);
        Assert.That(view.Size, Is.EqualTo(0x83000UL));
        Assert.That(view.IsValid(0x7000, 8), Is.False, "a page outside the view");
        Assert.That(view.IsValid(0x12FF8, 16), Is.False, "runs past the end of a range");
        Assert.That(view.IsValid(0x12FF8, 8), Is.True);
        Assert.That(view.TryWrite(0x80010, 0xABCDUL), Is.True);
        Assert.That(memory.TryRead(0x80010, out ulong value), Is.True);
        Assert.That(value, Is.EqualTo(0xABCDUL), "the view writes the owner's bytes");
    }

    [Test]
    public void AViewDiesWithItsOwner()
    {
        var memory = GuestMemory.Create(1 << 20);
        GuestMemory view = memory.Restrict([(0x80000UL, 0x1000UL)]);
        memory.Dispose();
        Assert.That(view.TryRead(0x80000, out ulong _), Is.False);
    }

    [Test]
    public void AViewCannotReachBeyondItsOwner()
    {
        using var memory = GuestMemory.Create(1 << 20);
        Assert.That(() => memory.Restrict([(0xFF000UL, 0x2000UL)]), Throws.ArgumentException);
        Assert.That(() => memory.Restrict([(0x1000UL, 0x2000UL), (0x2000UL, 0x1000UL)]), Throws.ArgumentException.With.Message.Contains("overlap"));
    }
}
