using System;

namespace ParaVirt.Mmu.Para;

/// <summary>
/// Per-frame state of para mode's direct paging, Xen style: each 4 KiB frame of guest RAM has a
/// type (ordinary RAM, or a pinned page table of level 1 to 4), a reference count (entries of
/// pinned tables one level up that point at it, plus the base pointer) and a writable-mapping
/// count (level-1 entries that map it writable). Preallocated arrays indexed by frame number:
/// no allocation per operation.
/// </summary>
internal sealed class FrameTable
{
    private readonly byte[] _level;
    private readonly int[] _references;
    private readonly int[] _writableMappings;

    public FrameTable(ulong ramStart, ulong ramEnd)
    {
        RamStart = ramStart;
        RamEnd = ramEnd;
        ulong frames = ramEnd / PageTableEntry.FrameSize;
        _level = new byte[frames];
        _references = new int[frames];
        _writableMappings = new int[frames];
    }

    /// <summary>First byte of guest RAM the guest may map.</summary>
    public ulong RamStart { get; }

    /// <summary>One past the last byte of guest RAM.</summary>
    public ulong RamEnd { get; }

    /// <summary>Whether <paramref name="frame"/> is a 4 KiB-aligned frame of the guest's RAM.</summary>
    public bool IsRamFrame(ulong frame) => frame % PageTableEntry.FrameSize == 0 && frame >= RamStart && frame < RamEnd;

    private static int Index(ulong frame) => (int)(frame / PageTableEntry.FrameSize);

    /// <summary>The pinned table level of a RAM frame (1 to 4), or 0 for ordinary RAM.</summary>
    public int Level(ulong frame) => _level[Index(frame)];

    public void SetLevel(ulong frame, int level) => _level[Index(frame)] = (byte)level;

    public int References(ulong frame) => _references[Index(frame)];

    public void AddReference(ulong frame) => _references[Index(frame)]++;

    public void DropReference(ulong frame)
    {
        if (--_references[Index(frame)] < 0)
            throw new InvalidOperationException($"frame 0x{frame:x}: reference count below zero");
    }

    public int WritableMappings(ulong frame) => _writableMappings[Index(frame)];

    public void AddWritableMapping(ulong frame) => _writableMappings[Index(frame)]++;

    public void DropWritableMapping(ulong frame)
    {
        if (--_writableMappings[Index(frame)] < 0)
            throw new InvalidOperationException($"frame 0x{frame:x}: writable-mapping count below zero");
    }

    /// <summary>Pinned tables (all levels).</summary>
    public int PinnedTables { get; set; }
}
