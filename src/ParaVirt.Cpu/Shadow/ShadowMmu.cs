using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ParaVirt.Core.Memory;
using static ParaVirt.Cpu.Shadow.PageTableBits;

namespace ParaVirt.Cpu.Shadow;

/// <summary>What the shadow MMU made of a page fault.</summary>
public enum ShadowFaultKind
{
    /// <summary>A hidden fault: the guest's tables allow the access, the shadow was filled; resume at the same instruction.</summary>
    Filled,
    /// <summary>The shadow already allows the access (a stale translation): the TLB is flushed; resume at the same instruction.</summary>
    Spurious,
    /// <summary>The guest's own tables explain the fault: reflect #PF with the guest error code and CR2 = the address.</summary>
    Reflect,
    /// <summary>A store to a shadowed guest page table: emulate it at the guest-physical address, then call <see cref="ShadowMmu.OnGuestWrite"/>.</summary>
    EmulateWrite,
    /// <summary>Not an address the shadow covers (the platform's identity slot, the upper half): the caller reflects it as it always has.</summary>
    NotShadowed,
    /// <summary>The shadow could not be built (host-private memory exhausted): stop the VM with <see cref="ShadowMmu.FailureReason"/>.</summary>
    Failed,
}

/// <summary>
/// Full mode's shadow MMU: the guest writes ordinary 4-level x86-64 tables in its RAM and loads
/// CR3; the hardware walks shadow tables this class builds in host-private memory. The shadow
/// PML4 of every address space has the platform's identity map in slot 0 and shadows the guest's
/// slots 1-255, filled lazily on faults; the guest's slot 0 and upper half are ignored.
/// </summary>
/// <remarks>
/// <para>Invariants. (1) Every guest table a shadow page shadows is tracked: write-protected in
/// the identity map and mapped read-only by every shadow leaf, so the guest cannot change it
/// without a trap, and every present shadow entry agrees with the guest entry it shadows.
/// (2) A present shadow leaf is writable only if the guest's path allows writes, the guest's dirty
/// bit is set, and the frame is not tracked: a frame is a shadowed page table or writable, never
/// both. (3) Shadow pages are never shared: each has one parent, so the permissions accumulated
/// on its guest path are encoded in its leaves.</para>
/// <para>Accessed and dirty bits: a fill for a read sets A on every guest entry of the path and
/// maps the page read-only unless the guest's D is already set; a fill for a write sets A and D
/// and maps it writable. The guest's D bit is therefore exact (set only by a write), at the cost
/// of one hidden fault on the first write after a read.</para>
/// <para>Bounded work: a fault walks four guest entries and allocates at most three pages; zapping
/// a subtree, evicting a root or the rare scan that write-protects a new table visit at most every
/// page of the pool once. Nothing is allocated on the GC heap after construction. Not thread-safe:
/// the vCPU thread owns it.</para>
/// </remarks>
public sealed unsafe class ShadowMmu
{
    /// <summary>Shadow roots kept by default (address spaces the guest may switch between without a rebuild).</summary>
    public const int DefaultRootCacheSize = 4;

    /// <summary>Shadow pages one guest table may have (it may be linked from many places): bounds the work of one table write.</summary>
    public const int MaxShadowsPerTable = 16;

    private const int NoPage = -1;

    private readonly GuestMemory _ram;
    private readonly ulong _ramStart, _ramEnd;
    private readonly ulong _identityEntry;
    private readonly IShadowPagingHost _host;
    private readonly IShadowPageSource _pages;
    private readonly ulong _poolBase;
    private readonly int _poolPages;
    private readonly ulong* _pool;

    // Per pool page (index = (address - pool base) / 4096).
    private readonly bool[] _inUse;
    private readonly byte[] _level;          // 4 = shadow PML4 (a root) ... 1 = shadow page table
    private readonly ulong[] _guestFrame;    // the guest table it shadows
    private readonly ulong[] _guestFlags;    // the guest entry's R/W, U/S, NX bits that linked it (non-roots)
    private readonly int[] _parent, _parentSlot;
    private readonly int[] _nextSameFrame, _prevSameFrame;
    private readonly int[] _scratch;         // FreeSubtree's work stack, one pool's worth
    private readonly int[] _sameFrame;       // OnGuestWrite's copy of a frame's list, one pool's worth

    // Per guest RAM frame (index = (frame - RAM start) / 4096).
    private readonly int[] _trackCount;      // shadow pages shadowing the frame (> 0: write-protected)
    private readonly int[] _frameHead;       // first shadow page shadowing it
    private readonly int[] _writableLeaves;  // writable shadow leaves mapping it
    private readonly int[] _shadowCount;     // shadow pages shadowing it (roots included)
    private readonly bool[] _enablePending;  // untracked, but the platform could not give write access back yet
    private bool _noteFailed;
    private int _pathDepth;
    private readonly int[] _path = new int[4]; // the pages of the path being filled (never evicted under it)

    // The root cache.
    private readonly int[] _rootPage;
    private readonly long[] _rootLastUse;
    private long _useClock;
    private int _current = NoPage;

    /// <summary>Creates the MMU.</summary>
    /// <param name="ram">Guest memory holding all of guest RAM (guest tables are read and A/D bits written through it).</param>
    /// <param name="ramStart">First byte of guest RAM: only frames in [<paramref name="ramStart"/>, <paramref name="ramEnd"/>) may be tables or be mapped.</param>
    /// <param name="ramEnd">One past the last byte of guest RAM.</param>
    /// <param name="identityEntry">The platform's PML4 entry 0 (its identity map), copied into slot 0 of every shadow root.</param>
    /// <param name="host">The platform: identity-map write protection, the hardware root, TLB flushes.</param>
    /// <param name="pages">Host-private pages for the shadow tables.</param>
    /// <param name="rootCacheSize">Shadow roots kept (LRU), at least 1.</param>
    public ShadowMmu(GuestMemory ram, ulong ramStart, ulong ramEnd, ulong identityEntry, IShadowPagingHost host, IShadowPageSource pages, int rootCacheSize = DefaultRootCacheSize)
    {
        ArgumentNullException.ThrowIfNull(ram);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(pages);
        ArgumentOutOfRangeException.ThrowIfLessThan(rootCacheSize, 1);
        if (ramStart % 4096 != 0 || ramEnd % 4096 != 0 || ramEnd <= ramStart || !ram.IsValid(ramStart, ramEnd - ramStart))
            throw new ArgumentException("guest RAM must be whole pages inside the given memory", nameof(ram));
        if (pages.Memory.Regions.Length != 1)
            throw new ArgumentException("the host-private memory is one region", nameof(pages));
        GuestRegion pool = pages.Memory.Regions[0];
        if (pool.GuestAddress % 4096 != 0 || pool.Size % 4096 != 0 || pool.Size / 4096 > int.MaxValue ||
            !pages.Memory.TryGetSpan(pool.GuestAddress, pool.Size, out Span<byte> poolSpan))
            throw new ArgumentException("the host-private memory is not whole pages", nameof(pages));
        _ram = ram;
        _ramStart = ramStart;
        _ramEnd = ramEnd;
        _identityEntry = identityEntry;
        _host = host;
        _pages = pages;
        _poolBase = pool.GuestAddress;
        _poolPages = (int)(pool.Size / 4096);
        _pool = (ulong*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(poolSpan)); // outside the GC heap; never moves
        _inUse = new bool[_poolPages];
        _level = new byte[_poolPages];
        _guestFrame = new ulong[_poolPages];
        _guestFlags = new ulong[_poolPages];
        _parent = new int[_poolPages];
        _parentSlot = new int[_poolPages];
        _nextSameFrame = new int[_poolPages];
        _prevSameFrame = new int[_poolPages];
        _scratch = new int[_poolPages];
        _sameFrame = new int[_poolPages];
        int frames = checked((int)((ramEnd - ramStart) / 4096));
        _trackCount = new int[frames];
        _frameHead = new int[frames];
        _frameHead.AsSpan().Fill(NoPage);
        _writableLeaves = new int[frames];
        _shadowCount = new int[frames];
        _enablePending = new bool[frames];
        _rootPage = new int[rootCacheSize];
        _rootPage.AsSpan().Fill(NoPage);
        _rootLastUse = new long[rootCacheSize];
    }

    /// <summary>Faults resolved by the host alone (the shadow was filled).</summary>
    public long HiddenFaults { get; private set; }

    /// <summary>Faults the guest's tables explain (to be reflected into its #PF handler).</summary>
    public long GuestFaults { get; private set; }

    /// <summary>Faults on a translation that was already right (only a TLB flush was needed).</summary>
    public long SpuriousFaults { get; private set; }

    /// <summary>Guest stores into shadowed tables (emulated by the caller).</summary>
    public long TableWrites { get; private set; }

    /// <summary>Shadow entries dropped (by table writes, invlpg, evictions).</summary>
    public long Zaps { get; private set; }

    /// <summary>CR3 loads that found their shadow root in the cache.</summary>
    public long RootHits { get; private set; }

    /// <summary>CR3 loads that had to build a new shadow root.</summary>
    public long RootMisses { get; private set; }

    /// <summary>Shadow roots evicted (the cache was full or host-private pages ran short).</summary>
    public long RootEvictions { get; private set; }

    /// <summary>Shadow pages in use (roots included).</summary>
    public int ShadowPages { get; private set; }

    /// <summary>Guest RAM frames currently write-protected because a shadow page shadows them.</summary>
    public int TrackedFrames { get; private set; }

    /// <summary>The guest-physical address of the current shadow root, 0 before the guest's first CR3 load.</summary>
    public ulong CurrentRoot => _current == NoPage ? 0 : PageAddress(_rootPage[_current]);

    /// <summary>The guest frame (its PML4) of the current address space, 0 before the first CR3 load.</summary>
    public ulong CurrentGuestRoot => _current == NoPage ? 0 : _guestFrame[_rootPage[_current]];

    /// <summary>Why the last <see cref="ShadowFaultKind.Failed"/> happened (a constant string: nothing is formatted per fault).</summary>
    public string? FailureReason { get; private set; }

    /// <summary>
    /// True when the engine refused to publish a changed shadow page (more changes in one exit
    /// than it can take): the caller must stop the VM, since the hardware may still use the old
    /// entry. Cleared by <see cref="TakeNoteFailure"/>.
    /// </summary>
    public bool NoteFailed => _noteFailed;

    /// <summary>Reads and clears <see cref="NoteFailed"/>.</summary>
    public bool TakeNoteFailure()
    {
        bool failed = _noteFailed;
        _noteFailed = false;
        return failed;
    }

    /// <summary>Whether <paramref name="frame"/>'s page is a shadowed (write-protected) guest table.</summary>
    public bool IsTracked(ulong frame) => InRam(frame) && _trackCount[FrameIndex(frame)] > 0;

    /// <summary>
    /// Emulates a CR3 load: validates <paramref name="cr3"/> and switches the hardware to its shadow
    /// root (from the cache, or built empty). False (and nothing changed) for a value the platform
    /// refuses: bits 11:0 other than PWT and PCD, bits 63:52, or a frame outside guest RAM (the
    /// caller injects #GP); or when no host-private page is left (<see cref="FailureReason"/>).
    /// </summary>
    public bool TryLoadCr3(ulong cr3, out bool refusedValue)
    {
        refusedValue = false;
        ulong frame = cr3 & FrameMask;
        if ((cr3 & ~(FrameMask | WriteThrough | CacheDisable)) != 0 || !InRam(frame))
        {
            refusedValue = true;
            return false;
        }
        int slot = FindRoot(frame);
        if (slot != NoPage)
        {
            RootHits++;
        }
        else
        {
            RootMisses++;
            slot = FreeRootSlot();
            if (!EnsureFreePages(1, keep: NoPage) || !TryAllocatePage(4, frame, 0, NoPage, 0, out int page))
            {
                FailureReason = "no host-private page is left for a shadow root";
                return false;
            }
            _pool[(ulong)page * 512] = _identityEntry;
            Note(page);
            if (!Track(frame))
            {
                ReleasePage(page, tracked: false);
                FailureReason = "the platform could not write-protect the guest's PML4";
                return false;
            }
            _rootPage[slot] = page;
        }
        _rootLastUse[slot] = ++_useClock;
        _current = slot;
        _host.LoadRoot(PageAddress(_rootPage[slot]));
        return true;
    }

    /// <summary>
    /// Classifies a #PF at <paramref name="address"/> (CR2) with the hardware's
    /// <paramref name="errorCode"/>, and resolves it when the guest need not know (a hidden fault).
    /// </summary>
    /// <param name="address">The faulting linear address.</param>
    /// <param name="errorCode">The hardware error code (present, write, user, reserved, fetch).</param>
    /// <param name="guestErrorCode">For <see cref="ShadowFaultKind.Reflect"/>: the error code the guest sees.</param>
    /// <param name="physical">For <see cref="ShadowFaultKind.EmulateWrite"/>: the guest-physical address of the store.</param>
    public ShadowFaultKind HandlePageFault(ulong address, uint errorCode, out uint guestErrorCode, out ulong physical)
    {
        guestErrorCode = 0;
        physical = 0;
        bool write = (errorCode & ErrorWrite) != 0;
        bool fetch = (errorCode & ErrorFetch) != 0;
        bool present = (errorCode & ErrorPresent) != 0;
        if (address < SlotSize)
        {
            // The platform's identity map: a store to a shadowed table, or a stale read-only
            // translation of a frame that is writable again; anything else is the guest's own fault.
            ulong frame = address & FrameMask;
            if (!write || !present || !InRam(frame) || (errorCode & ErrorReserved) != 0)
                return ShadowFaultKind.NotShadowed;
            if (_trackCount[FrameIndex(frame)] > 0)
            {
                TableWrites++;
                physical = address;
                return ShadowFaultKind.EmulateWrite;
            }
            int index = FrameIndex(frame);
            if (_enablePending[index] && _host.TryWriteEnable(frame))
                _enablePending[index] = false; // a table dropped in a busy exit: writable from now on
            SpuriousFaults++;
            _host.FlushTlb();
            return ShadowFaultKind.Spurious;
        }
        if (address >= GuestMappingsEnd)
            return ShadowFaultKind.NotShadowed;
        SyncWithHardware();
        if (_current == NoPage)
        {
            GuestFaults++;
            guestErrorCode = (write ? ErrorWrite : 0) | (fetch ? ErrorFetch : 0);
            return ShadowFaultKind.Reflect; // no guest tables loaded: nothing is mapped there
        }
        int root = _rootPage[_current];
        GuestPageWalk.Walk(_ram, _ramStart, _ramEnd, _guestFrame[root], address, write, fetch, out GuestPageWalk walk);
        if (walk.Status != GuestWalkStatus.Mapped)
        {
            GuestFaults++;
            guestErrorCode = walk.GuestErrorCode(write, fetch);
            return ShadowFaultKind.Reflect;
        }
        if (write && _trackCount[FrameIndex(walk.Frame)] > 0)
        {
            TableWrites++;
            physical = walk.Frame | (address & 0xFFF);
            return ShadowFaultKind.EmulateWrite;
        }
        return Fill(root, address, write, ref walk);
    }

    /// <summary>
    /// After the caller stored <paramref name="length"/> bytes at guest-physical <paramref name="physical"/>
    /// (inside one page): brings every shadow page of that guest table in line with it. A changed
    /// leaf is dropped (refilled on the next access); a changed non-leaf entry drops its subtree.
    /// </summary>
    public void OnGuestWrite(ulong physical, int length)
    {
        ulong frame = physical & FrameMask;
        if (length <= 0 || !InRam(frame) || _trackCount[FrameIndex(frame)] == 0)
            return;
        int offset = (int)(physical & 0xFFF);
        int first = offset / 8, last = Math.Min(511, (offset + length - 1) / 8);
        // Copy the list first: dropping a subtree may free pages of this very list (a table that
        // maps itself), which are then skipped.
        int count = 0;
        for (int p = _frameHead[FrameIndex(frame)]; p != NoPage; p = _nextSameFrame[p])
            _sameFrame[count++] = p;
        for (int i = 0; i < count; i++)
        {
            int page = _sameFrame[i];
            if (!_inUse[page] || _guestFrame[page] != frame)
                continue;
            for (int slot = first; slot <= last; slot++)
                UpdateEntry(page, slot, frame);
        }
    }

    /// <summary>Emulates <c>invlpg</c>: drops the shadow leaf of <paramref name="address"/> in the current address space.</summary>
    public void InvalidatePage(ulong address)
    {
        SyncWithHardware();
        if (_current == NoPage || address < SlotSize || address >= GuestMappingsEnd)
            return;
        int page = _rootPage[_current];
        for (int level = 4; level > 1; level--)
        {
            ulong entry = _pool[(ulong)page * 512 + (ulong)Index(address, level)];
            if ((entry & Present) == 0)
                return;
            page = PageIndex(entry);
        }
        ZapEntry(page, Index(address, 1));
    }

    /// <summary>
    /// Stops shadowing guest frame <paramref name="frame"/> so that a store the caller cannot
    /// emulate runs natively: drops every shadow page of it (and the cached roots whose PML4 it
    /// is). False when it is the current address space's PML4, which cannot be dropped under the
    /// running guest.
    /// </summary>
    public bool TryUnprotect(ulong frame)
    {
        frame &= FrameMask;
        if (!InRam(frame))
            return false;
        int index = FrameIndex(frame);
        for (int p = _frameHead[index]; p != NoPage; p = _nextSameFrame[p])
            if (_level[p] == 4 && _current != NoPage && _rootPage[_current] == p)
                return false;
        while (_frameHead[index] != NoPage)
        {
            int page = _frameHead[index];
            if (_level[page] == 4)
                FreeRoot(RootSlotOf(page));
            else
                ZapEntry(_parent[page], _parentSlot[page]);
        }
        return true;
    }

    /// <summary>Drops every shadow root and page (the guest's next access refills); the hardware goes back to the platform's root.</summary>
    /// <param name="platformRoot">The platform's own root, loaded in place of the current shadow root.</param>
    public void Reset(ulong platformRoot)
    {
        for (int slot = 0; slot < _rootPage.Length; slot++)
            if (_rootPage[slot] != NoPage)
                FreeRoot(slot);
        _current = NoPage;
        _host.LoadRoot(platformRoot);
    }

    /// <summary>The vCPU was reset onto the platform's root (a new entry): no address space is current until the next CR3 load.</summary>
    private void SyncWithHardware()
    {
        if (_current != NoPage && _host.ActiveRoot != PageAddress(_rootPage[_current]))
            _current = NoPage;
    }

    private ShadowFaultKind Fill(int root, ulong address, bool write, ref GuestPageWalk walk)
    {
        // Leaf state first: a fault on a translation the shadow already grants is a stale TLB entry.
        if (TryFindLeaf(root, address, out int leafPage, out int leafSlot))
        {
            ulong old = _pool[(ulong)leafPage * 512 + (ulong)leafSlot];
            if ((old & Present) != 0 && (!write || (old & PageTableBits.Writable) != 0))
            {
                SpuriousFaults++;
                _host.FlushTlb();
                return ShadowFaultKind.Spurious;
            }
        }
        if (!EnsureFreePages(3, keep: _current))
        {
            FailureReason = "the host-private pages cannot hold one more shadow path";
            return ShadowFaultKind.Failed;
        }
        root = _rootPage[_current];
        int page = root;
        _pathDepth = 0;
        for (int level = 4; level > 1; level--)
        {
            _path[_pathDepth++] = page;
            int slot = Index(address, level);
            ulong* entry = _pool + (ulong)page * 512 + (ulong)slot;
            if ((*entry & Present) != 0)
            {
                page = PageIndex(*entry);
                continue;
            }
            ulong guestEntry = walk.Entry[4 - level];
            ulong child = guestEntry & FrameMask;
            if (_shadowCount[FrameIndex(child)] >= MaxShadowsPerTable)
                DropOneShadow(child);
            if (!TryAllocatePage(level - 1, child, guestEntry & PermissionMask, page, slot, out int childPage))
            {
                FailureReason = "the host-private pages ran out while filling a shadow path";
                return ShadowFaultKind.Failed;
            }
            if (!Track(child))
            {
                ReleasePage(childPage, tracked: false);
                FailureReason = "the platform could not write-protect a guest page table";
                return ShadowFaultKind.Failed;
            }
            *entry = PageAddress(childPage) | Present | PageTableBits.Writable | User;
            Note(page);
            Note(childPage); // a reused page: whatever an outer KVM remembers of it is stale
            page = childPage;
        }
        _pathDepth = 0;

        // Accessed on every entry of the path, dirty on the leaf for a write (guest memory: host stores).
        for (int i = 0; i < 4; i++)
        {
            ulong want = walk.Entry[i] | Accessed | (i == 3 && write ? Dirty : 0);
            if (want != walk.Entry[i])
            {
                _ram.TryWrite(walk.EntryAddress[i], want);
                walk.Entry[i] = want;
            }
        }
        // The write protection of tables made while filling may have downgraded a leaf: read the
        // frame's state now, after Track.
        ulong frame = walk.Frame;
        bool writable = walk.Writable && (walk.Entry[3] & Dirty) != 0 && _trackCount[FrameIndex(frame)] == 0;
        ulong leaf = frame | Present | User | (writable ? PageTableBits.Writable : 0) | (walk.NoExecute ? NoExecute : 0);
        int leafIndex = Index(address, 1);
        ulong* target = _pool + (ulong)page * 512 + (ulong)leafIndex;
        bool replaced = (*target & Present) != 0;
        DropLeaf(*target);
        *target = leaf;
        Note(page);
        if (writable)
            _writableLeaves[FrameIndex(frame)]++;
        if (replaced)
            _host.FlushTlb();
        HiddenFaults++;
        return ShadowFaultKind.Filled;
    }

    private bool TryFindLeaf(int root, ulong address, out int page, out int slot)
    {
        page = root;
        slot = 0;
        for (int level = 4; level > 1; level--)
        {
            ulong entry = _pool[(ulong)page * 512 + (ulong)Index(address, level)];
            if ((entry & Present) == 0)
                return false;
            page = PageIndex(entry);
        }
        slot = Index(address, 1);
        return true;
    }

    private void UpdateEntry(int page, int slot, ulong frame)
    {
        int level = _level[page];
        if (level == 4 && (slot < FirstGuestSlot || slot > LastGuestSlot))
            return; // the guest's slot 0 and upper half are ignored
        ulong shadow = _pool[(ulong)page * 512 + (ulong)slot];
        if ((shadow & Present) == 0)
            return; // nothing shadowed there yet: the next access walks the new value
        if (level > 1)
        {
            _ram.TryRead(frame + (ulong)slot * 8, out ulong guest);
            int child = PageIndex(shadow);
            if ((guest & (Present | Large)) == Present && (guest & FrameMask) == _guestFrame[child] &&
                (guest & PermissionMask) == _guestFlags[child])
                return; // same table, same permissions (an A bit, an ignored bit): the subtree stands
        }
        ZapEntry(page, slot);
    }

    /// <summary>Clears one present shadow entry: a leaf's count, or a whole subtree; flushes the TLB.</summary>
    private void ZapEntry(int page, int slot)
    {
        ulong* entry = _pool + (ulong)page * 512 + (ulong)slot;
        ulong old = *entry;
        if ((old & Present) == 0)
            return;
        *entry = 0;
        Note(page);
        if (_level[page] == 1)
            DropLeaf(old);
        else
            FreeSubtree(PageIndex(old));
        Zaps++;
        _host.FlushTlb();
    }

    private void DropLeaf(ulong leaf)
    {
        if ((leaf & (Present | PageTableBits.Writable)) == (Present | PageTableBits.Writable))
            _writableLeaves[FrameIndex(leaf & FrameMask)]--;
    }

    /// <summary>Frees a shadow page and everything below it, iteratively (an explicit stack of at most one pool).</summary>
    private void FreeSubtree(int top)
    {
        int depth = 0;
        _scratch[depth++] = top;
        while (depth > 0)
        {
            int page = _scratch[--depth];
            int level = _level[page];
            ulong* table = _pool + (ulong)page * 512;
            int first = level == 4 ? FirstGuestSlot : 0, last = level == 4 ? LastGuestSlot : 511;
            for (int slot = first; slot <= last; slot++)
            {
                ulong entry = table[slot];
                if ((entry & Present) == 0)
                    continue;
                if (level == 1)
                    DropLeaf(entry);
                else
                    _scratch[depth++] = PageIndex(entry); // each page has one parent: pushed once
            }
            ReleasePage(page, tracked: true);
        }
    }

    private void FreeRoot(int slot)
    {
        int page = _rootPage[slot];
        _rootPage[slot] = NoPage;
        if (slot == _current)
            _current = NoPage;
        FreeSubtree(page);
        RootEvictions++;
    }

    private int RootSlotOf(int page)
    {
        for (int slot = 0; slot < _rootPage.Length; slot++)
            if (_rootPage[slot] == page)
                return slot;
        throw new InvalidOperationException("a shadow PML4 that is no cached root"); // an MMU bug, never guest input
    }

    private int FindRoot(ulong frame)
    {
        for (int slot = 0; slot < _rootPage.Length; slot++)
            if (_rootPage[slot] != NoPage && _guestFrame[_rootPage[slot]] == frame)
                return slot;
        return NoPage;
    }

    /// <summary>An empty root slot, evicting the least recently used root if none is.</summary>
    private int FreeRootSlot()
    {
        int victim = NoPage;
        for (int slot = 0; slot < _rootPage.Length; slot++)
        {
            if (_rootPage[slot] == NoPage)
                return slot;
            if (victim == NoPage || _rootLastUse[slot] < _rootLastUse[victim])
                victim = slot;
        }
        FreeRoot(victim);
        return victim;
    }

    /// <summary>Makes <paramref name="count"/> pages free: evicts least recently used roots other than <paramref name="keep"/>, then empties <paramref name="keep"/>'s own tree.</summary>
    private bool EnsureFreePages(int count, int keep)
    {
        while (_pages.FreePages < count)
        {
            int victim = NoPage;
            for (int slot = 0; slot < _rootPage.Length; slot++)
                if (slot != keep && _rootPage[slot] != NoPage && (victim == NoPage || _rootLastUse[slot] < _rootLastUse[victim]))
                    victim = slot;
            if (victim != NoPage)
            {
                FreeRoot(victim);
                continue;
            }
            if (keep == NoPage)
                return false;
            int root = _rootPage[keep];
            for (int slot = FirstGuestSlot; slot <= LastGuestSlot; slot++)
                ZapEntry(root, slot);
            return _pages.FreePages >= count;
        }
        return true;
    }

    private bool TryAllocatePage(int level, ulong guestFrame, ulong guestFlags, int parent, int parentSlot, out int page)
    {
        page = NoPage;
        if (!_pages.TryAllocate(out ulong address))
            return false;
        if (address < _poolBase || address - _poolBase >= (ulong)_poolPages * 4096 || address % 4096 != 0)
            throw new InvalidOperationException($"the page source handed out 0x{address:x}, outside its memory"); // a host bug
        page = (int)((address - _poolBase) / 4096);
        _inUse[page] = true;
        _level[page] = (byte)level;
        _guestFrame[page] = guestFrame;
        _guestFlags[page] = guestFlags;
        _parent[page] = parent;
        _parentSlot[page] = parentSlot;
        int index = FrameIndex(guestFrame);
        int head = _frameHead[index];
        _nextSameFrame[page] = head;
        _prevSameFrame[page] = NoPage;
        if (head != NoPage)
            _prevSameFrame[head] = page;
        _frameHead[index] = page;
        _shadowCount[index]++;
        ShadowPages++;
        return true;
    }

    private void ReleasePage(int page, bool tracked)
    {
        int index = FrameIndex(_guestFrame[page]);
        int next = _nextSameFrame[page], prev = _prevSameFrame[page];
        if (prev != NoPage)
            _nextSameFrame[prev] = next;
        else
            _frameHead[index] = next;
        if (next != NoPage)
            _prevSameFrame[next] = prev;
        _shadowCount[index]--;
        _inUse[page] = false;
        ShadowPages--;
        if (tracked)
            Untrack(_guestFrame[page]);
        _pages.Free(PageAddress(page));
    }

    /// <summary>Counts one more shadow page of <paramref name="frame"/>; the first write-protects it and takes write access away from every shadow leaf mapping it.</summary>
    private bool Track(ulong frame)
    {
        int index = FrameIndex(frame);
        if (_trackCount[index] > 0)
        {
            _trackCount[index]++;
            return true;
        }
        if (_enablePending[index])
            _enablePending[index] = false; // still read-only in the identity map
        else if (!_host.TryWriteProtect(frame))
            return false;
        _trackCount[index] = 1;
        TrackedFrames++;
        if (_writableLeaves[index] > 0)
            DowngradeLeaves(frame);
        return true;
    }

    private void Untrack(ulong frame)
    {
        int index = FrameIndex(frame);
        if (--_trackCount[index] == 0)
        {
            TrackedFrames--;
            if (!_host.TryWriteEnable(frame))
                _enablePending[index] = true;
        }
    }

    /// <summary>Makes every writable shadow leaf of <paramref name="frame"/> read-only (a scan of the shadow page tables: bounded by the pool, and rare).</summary>
    private void DowngradeLeaves(ulong frame)
    {
        int index = FrameIndex(frame);
        for (int page = 0; page < _poolPages && _writableLeaves[index] > 0; page++)
        {
            if (!_inUse[page] || _level[page] != 1)
                continue;
            ulong* table = _pool + (ulong)page * 512;
            for (int slot = 0; slot < 512; slot++)
            {
                ulong entry = table[slot];
                if ((entry & (Present | PageTableBits.Writable)) == (Present | PageTableBits.Writable) && (entry & FrameMask) == frame)
                {
                    table[slot] = entry & ~PageTableBits.Writable;
                    _writableLeaves[index]--;
                    Note(page);
                }
            }
        }
        _host.FlushTlb();
    }

    /// <summary>Drops one shadow page of <paramref name="frame"/> that is not a root and not on the path being filled.</summary>
    private void DropOneShadow(ulong frame)
    {
        for (int p = _frameHead[FrameIndex(frame)]; p != NoPage; p = _nextSameFrame[p])
        {
            if (_level[p] == 4 || OnPath(p))
                continue;
            ZapEntry(_parent[p], _parentSlot[p]);
            return;
        }
    }

    /// <summary>Whether <paramref name="page"/> or an ancestor of it is on the path being filled.</summary>
    private bool OnPath(int page)
    {
        for (int i = 0; i < _pathDepth; i++)
            for (int p = _path[i]; p != NoPage; p = _parent[p])
                if (p == page)
                    return true;
        return false;
    }

    private void Note(int page)
    {
        if (!_host.TryNoteTableWrite(PageAddress(page)))
            _noteFailed = true;
    }

    private bool InRam(ulong frame) => frame >= _ramStart && frame < _ramEnd;

    private int FrameIndex(ulong frame) => (int)((frame - _ramStart) / 4096);

    private ulong PageAddress(int page) => _poolBase + (ulong)page * 4096;

    /// <summary>The pool page a present shadow entry points to (shadow entries are only ever written by this class).</summary>
    private int PageIndex(ulong entry) => (int)(((entry & FrameMask) - _poolBase) / 4096);
}
