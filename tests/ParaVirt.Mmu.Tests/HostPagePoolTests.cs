using ParaVirt.Core.Memory;

namespace ParaVirt.Mmu.Tests;

public class HostPagePoolTests
{
    [Test]
    public void HandsOutEveryPageOnceZeroedThenRefuses()
    {
        using GuestMemory memory = GuestMemory.Create([(0x1_0000_0000UL, 4 * 4096UL)]);
        memory.TryFill(0x1_0000_0000UL, 4 * 4096, 0xAA);
        var pool = new HostPagePool(memory);
        var pages = new List<ulong>();
        while (pool.TryAllocate(out ulong page))
            pages.Add(page);
        Assert.That(pages, Is.EqualTo(new[] { 0x1_0000_0000UL, 0x1_0000_1000UL, 0x1_0000_2000UL, 0x1_0000_3000UL }));
        Assert.That(memory.TryRead(0x1_0000_2000UL, out ulong word) && word == 0, Is.True, "zeroed");
        Assert.That(pool.FreePages, Is.Zero);
        pool.Free(0x1_0000_2000UL);
        Assert.That(pool.TryAllocate(out ulong again) && again == 0x1_0000_2000UL, Is.True);
    }

    [Test]
    public void FreeingAPageTwiceOrAForeignAddressThrows()
    {
        using GuestMemory memory = GuestMemory.Create([(0x1_0000_0000UL, 2 * 4096UL)]);
        var pool = new HostPagePool(memory);
        Assert.That(pool.TryAllocate(out ulong page), Is.True);
        pool.Free(page);
        Assert.Throws<InvalidOperationException>(() => pool.Free(page));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Free(0x2000));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Free(page + 8));
    }

    [Test]
    public void AllocateAndFreeAllocateNothing()
    {
        using GuestMemory memory = GuestMemory.Create([(0x1_0000_0000UL, 16 * 4096UL)]);
        var pool = new HostPagePool(memory);
        pool.TryAllocate(out ulong warm);
        pool.Free(warm);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            pool.TryAllocate(out ulong page);
            pool.Free(page);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
