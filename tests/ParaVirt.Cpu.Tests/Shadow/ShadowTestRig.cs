using ParaVirt.Core.Memory;
using ParaVirt.Cpu.Shadow;

namespace ParaVirt.Cpu.Tests.Shadow;

/// <summary>A recording platform for the shadow MMU: which frames are write-protected, the root, flushes.</summary>
internal sealed class RecordingHost : IShadowPagingHost
{
    public readonly HashSet<ulong> Protected = [];
    public ulong Root;
    public int Flushes, Loads, Protects, Enables;
    public bool RefuseProtect, RefuseEnable, RefuseNotes;
    public readonly HashSet<ulong> Notes = [];

    public bool TryWriteProtect(ulong frame)
    {
        if (RefuseProtect)
            return false;
        if (!Protected.Add(frame))
            throw new AssertionException($"frame 0x{frame:x} protected twice");
        Protects++;
        return true;
    }

    public bool TryWriteEnable(ulong frame)
    {
        if (RefuseEnable)
            return false;
        if (!Protected.Remove(frame))
            throw new AssertionException($"frame 0x{frame:x} enabled but not protected");
        Enables++;
        return true;
    }

    public bool TryNoteTableWrite(ulong page)
    {
        if (page < ShadowTestRig.PoolBase)
            throw new AssertionException($"0x{page:x} is not a shadow page");
        Notes.Add(page);
        return !RefuseNotes;
    }

    public ulong ActiveRoot => Root;

    public void LoadRoot(ulong root)
    {
        Root = root;
        Loads++;
    }

    public void FlushTlb() => Flushes++;
}

/// <summary>A stack of pages over one region, as the platform's host-private page pool.</summary>
internal sealed class StackPageSource : IShadowPageSource
{
    private readonly Stack<ulong> _free = new();
    private readonly HashSet<ulong> _out = [];

    public StackPageSource(GuestMemory memory)
    {
        Memory = memory;
        GuestRegion region = memory.Regions[0];
        for (ulong a = region.GuestAddress + region.Size; a > region.GuestAddress; a -= 4096)
            _free.Push(a - 4096);
    }

    public GuestMemory Memory { get; }
    public int FreePages => _free.Count;
    public int InUse => _out.Count;

    public bool TryAllocate(out ulong address)
    {
        if (!_free.TryPop(out address))
            return false;
        _out.Add(address);
        if (!Memory.TryFill(address, 4096, 0))
            throw new AssertionException("fill failed");
        return true;
    }

    public void Free(ulong address)
    {
        if (!_out.Remove(address))
            throw new AssertionException($"page 0x{address:x} freed but not allocated");
        _free.Push(address);
    }
}

/// <summary>Fake guest RAM with a frame allocator and a table writer, the shadow MMU over it.</summary>
internal sealed class ShadowTestRig : IDisposable
{
    public const ulong RamStart = 0x200000, RamEnd = 8UL << 20, PoolBase = 0x1_0000_0000;
    public const ulong IdentityEntry = 0x8000 | 7;
    public const ulong P = 1, W = 2, U = 4, A = 0x20, D = 0x40, PS = 0x80, NX = 1UL << 63;
    public const uint ErrP = 1, ErrW = 2, ErrU = 4, ErrRsvd = 8, ErrI = 0x10;

    private ulong _nextFrame = 0x300000;

    public ShadowTestRig(int poolPages = 64, int rootCache = ShadowMmu.DefaultRootCacheSize)
    {
        Ram = GuestMemory.Create(RamEnd);
        PoolMemory = GuestMemory.Create([(PoolBase, (ulong)poolPages * 4096)]);
        Pages = new StackPageSource(PoolMemory);
        Mmu = new ShadowMmu(Ram, RamStart, RamEnd, IdentityEntry, Host, Pages, rootCache);
    }

    public GuestMemory Ram { get; }
    public GuestMemory PoolMemory { get; }
    public RecordingHost Host { get; } = new();
    public StackPageSource Pages { get; }
    public ShadowMmu Mmu { get; }

    public ulong NewFrame()
    {
        ulong frame = _nextFrame;
        _nextFrame += 4096;
        Assert.That(Ram.TryFill(frame, 4096, 0), Is.True);
        return frame;
    }

    public ulong Read(ulong address)
    {
        Assert.That(Ram.TryRead(address, out ulong value), Is.True);
        return value;
    }

    public void Write(ulong address, ulong value) => Assert.That(Ram.TryWrite(address, value), Is.True);

    /// <summary>Maps <paramref name="va"/> to <paramref name="frame"/> with leaf <paramref name="flags"/>, creating tables (P|W|U) as needed; returns the PTE's address.</summary>
    public ulong Map(ulong pml4, ulong va, ulong frame, ulong flags)
    {
        ulong table = pml4;
        for (int level = 4; level > 1; level--)
        {
            ulong entryAddress = table + (ulong)((va >> (12 + 9 * (level - 1))) & 511) * 8;
            ulong entry = Read(entryAddress);
            if ((entry & P) == 0)
            {
                entry = NewFrame() | P | W | U;
                Write(entryAddress, entry);
            }
            table = entry & 0x000F_FFFF_FFFF_F000;
        }
        ulong pte = table + (ulong)((va >> 12) & 511) * 8;
        Write(pte, frame | flags);
        return pte;
    }

    /// <summary>The entry address at <paramref name="level"/> in the guest's tables (tables must exist).</summary>
    public ulong EntryAddress(ulong pml4, ulong va, int level)
    {
        ulong table = pml4;
        for (int l = 4; l > level; l--)
            table = Read(table + (ulong)((va >> (12 + 9 * (l - 1))) & 511) * 8) & 0x000F_FFFF_FFFF_F000;
        return table + (ulong)((va >> (12 + 9 * (level - 1))) & 511) * 8;
    }

    /// <summary>The shadow leaf for <paramref name="va"/> under the current root, 0 if none.</summary>
    public ulong ShadowLeaf(ulong va)
    {
        ulong table = Mmu.CurrentRoot;
        for (int level = 4; level >= 1; level--)
        {
            Assert.That(PoolMemory.TryRead(table + (ulong)((va >> (12 + 9 * (level - 1))) & 511) * 8, out ulong entry), Is.True);
            if (level == 1)
                return entry;
            if ((entry & P) == 0)
                return 0;
            table = entry & 0x000F_FFFF_FFFF_F000;
        }
        return 0;
    }

    public ulong ShadowEntry(ulong table, int index)
    {
        Assert.That(PoolMemory.TryRead(table + (ulong)index * 8, out ulong entry), Is.True);
        return entry;
    }

    public ShadowFaultKind Fault(ulong va, uint errorCode) => Mmu.HandlePageFault(va, errorCode, out _, out _);

    public ulong LoadNewAddressSpace()
    {
        ulong pml4 = NewFrame();
        Assert.That(Mmu.TryLoadCr3(pml4, out _), Is.True);
        return pml4;
    }

    public void Dispose()
    {
        Ram.Dispose();
        PoolMemory.Dispose();
    }
}
