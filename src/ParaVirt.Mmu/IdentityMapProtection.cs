using System;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Mmu;

/// <summary>
/// Takes write access to single 4 KiB frames of guest RAM away in the platform's identity map
/// (PML4 slot 0), which gives RAM to the guest as 2 MiB user read-write pages. To protect one
/// frame the 2 MiB entry is split into a 4 KiB table taken from host-private memory
/// (<see cref="HostPagePool"/>) with the frame's entry read-only; when no frame of that 2 MiB is
/// protected any more the entry is merged back into a 2 MiB page and the table returned to the
/// pool. Protection is counted per frame (several holders may protect one frame). This is how
/// "a frame is a page table or writable, never both" holds for the identity map: para mode
/// protects every frame it types as a page table, full mode every guest page-table page it shadows.
/// </summary>
/// <remarks>
/// Every table write is reported to the engine (<see cref="IGuestPaging.TryNoteTableWrite"/>), so
/// no stale writable translation survives into the guest. Nothing is allocated per call. Used on
/// the vCPU thread.
/// </remarks>
/// <example><code>
/// var protection = new IdentityMapProtection(vm.PhysicalMemory, vm.Layout, pool, paging);
/// if (!protection.TryProtect(frame)) return Status.OutOfMemory; // nothing changed
/// ...                                                            // the guest's writes to frame fault
/// protection.Unprotect(frame);
/// </code></example>
public sealed class IdentityMapProtection
{
    private const ulong LargeSize = 2UL << 20;
    private const ulong Flags = PageTableEntry.Present | PageTableEntry.Writable | PageTableEntry.User;

    private readonly GuestMemory _physical;
    private readonly HostPagePool _pool;
    private readonly IGuestPaging _paging;
    private readonly ulong _directory;
    private readonly ulong _ramStart, _ramEnd;
    private readonly ushort[] _counts;        // per frame of [0, ramEnd)
    private readonly int[] _protectedInRegion; // per 2 MiB region
    private readonly ulong[] _splitTable;      // per 2 MiB region: the 4 KiB table, or 0

    /// <summary>Protection over the identity map of <paramref name="layout"/> in <paramref name="physical"/>.</summary>
    /// <param name="physical">All of guest-physical memory (the VM's <c>PhysicalMemory</c>).</param>
    /// <param name="layout">The platform layout: its <see cref="PlatformLayout.RamPageDirectory"/> and RAM bounds.</param>
    /// <param name="pool">Where split tables come from.</param>
    /// <param name="paging">The vCPU whose translations must see each change.</param>
    public IdentityMapProtection(GuestMemory physical, PlatformLayout layout, HostPagePool pool, IGuestPaging paging)
    {
        ArgumentNullException.ThrowIfNull(physical);
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(paging);
        if (layout.RamPageDirectory == 0)
            throw new ArgumentException("the platform has no identity map of RAM to protect frames in", nameof(layout));
        if (layout.GuestRamStart % LargeSize != 0 || layout.GuestRamEnd % LargeSize != 0)
            throw new ArgumentException("guest RAM is not whole 2 MiB pages", nameof(layout));
        _physical = physical;
        _pool = pool;
        _paging = paging;
        _directory = layout.RamPageDirectory;
        _ramStart = layout.GuestRamStart;
        _ramEnd = layout.GuestRamEnd;
        _counts = new ushort[_ramEnd / PageTableEntry.FrameSize];
        _protectedInRegion = new int[_ramEnd / LargeSize];
        _splitTable = new ulong[_ramEnd / LargeSize];
    }

    /// <summary>2 MiB pages currently split into 4 KiB tables.</summary>
    public int SplitRegions { get; private set; }

    /// <summary>Frames currently protected (each counted once).</summary>
    public int ProtectedFrames { get; private set; }

    /// <summary>Whether <paramref name="frame"/> is guest RAM this map can protect.</summary>
    public bool IsRamFrame(ulong frame) => frame % PageTableEntry.FrameSize == 0 && frame >= _ramStart && frame < _ramEnd;

    /// <summary>Whether <paramref name="frame"/> is read-only to the guest in the identity map.</summary>
    public bool IsProtected(ulong frame) => IsRamFrame(frame) && _counts[frame / PageTableEntry.FrameSize] != 0;

    /// <summary>
    /// Makes <paramref name="frame"/> read-only in the identity map (counted). Returns false and
    /// changes nothing when the pool has no table left, the engine cannot take more table writes
    /// before the next entry, or the count would overflow.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a frame of guest RAM (callers validate guest input first).</exception>
    public bool TryProtect(ulong frame)
    {
        if (!IsRamFrame(frame))
            throw new ArgumentOutOfRangeException(nameof(frame), frame, "not a frame of guest RAM");
        ulong index = frame / PageTableEntry.FrameSize;
        if (_counts[index] == ushort.MaxValue)
            return false;
        if (_counts[index] > 0)
        {
            _counts[index]++;
            return true;
        }
        if (_paging.TableWriteCapacity < 2)
            return false;
        int region = (int)(frame / LargeSize);
        ulong table = _splitTable[region];
        if (table == 0)
        {
            if (!_pool.TryAllocate(out table))
                return false;
            Split(region, table);
        }
        WriteEntry(table + (index % 512) * 8, frame | PageTableEntry.Present | PageTableEntry.User);
        _counts[index] = 1;
        _protectedInRegion[region]++;
        ProtectedFrames++;
        return true;
    }

    /// <summary>Drops one protection of <paramref name="frame"/>; the last one makes it writable again (and may merge its 2 MiB page back).</summary>
    /// <exception cref="InvalidOperationException">The frame is not protected (a host bug).</exception>
    public void Unprotect(ulong frame)
    {
        if (!IsRamFrame(frame) || _counts[frame / PageTableEntry.FrameSize] == 0)
            throw new InvalidOperationException($"frame 0x{frame:x} is not protected");
        ulong index = frame / PageTableEntry.FrameSize;
        if (--_counts[index] > 0)
            return;
        int region = (int)(frame / LargeSize);
        ulong table = _splitTable[region];
        ProtectedFrames--;
        if (--_protectedInRegion[region] == 0)
        {
            // Merge: the 2 MiB page again, the table back to the pool. Its stale shadow in an
            // outer KVM is harmless: the directory entry no longer points at it, and it is
            // rewritten (and reported) before it is used again.
            WriteEntry(_directory + (ulong)region * 8, (ulong)region * LargeSize | Flags | PageTableEntry.Large);
            _splitTable[region] = 0;
            _pool.Free(table);
            SplitRegions--;
            return;
        }
        WriteEntry(table + (index % 512) * 8, frame | Flags);
    }

    private void Split(int region, ulong table)
    {
        ulong start = (ulong)region * LargeSize;
        for (ulong i = 0; i < 512; i++)
            if (!_pool.Memory.TryWrite(table + i * 8, (start + i * PageTableEntry.FrameSize) | Flags))
                throw new InvalidOperationException("a split table is outside host-private memory");
        Note(table);
        WriteEntry(_directory + (ulong)region * 8, table | Flags);
        _splitTable[region] = table;
        SplitRegions++;
    }

    private void WriteEntry(ulong address, ulong entry)
    {
        GuestMemory memory = _pool.Contains(address) ? _pool.Memory : _physical;
        if (!memory.TryWrite(address, entry))
            throw new InvalidOperationException($"identity-map entry at 0x{address:x} is outside memory");
        Note(address);
    }

    private void Note(ulong address)
    {
        // Capacity was checked before the first write of an operation (at most two pages each).
        if (!_paging.TryNoteTableWrite(address))
            throw new InvalidOperationException("the engine took no more table writes for this entry");
    }
}
