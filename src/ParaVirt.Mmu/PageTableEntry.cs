namespace ParaVirt.Mmu;

/// <summary>
/// The x86-64 4-level page-table entry format (Intel SDM vol. 3, 4.5): the bits the MMU reads and
/// checks. One table is 512 entries of 8 bytes in one 4 KiB frame.
/// </summary>
public static class PageTableEntry
{
    /// <summary>Bit 0: the entry maps something.</summary>
    public const ulong Present = 1UL << 0;

    /// <summary>Bit 1: writes allowed (for the whole subtree, at a non-leaf level).</summary>
    public const ulong Writable = 1UL << 1;

    /// <summary>Bit 2: CPL3 may access.</summary>
    public const ulong User = 1UL << 2;

    /// <summary>Bit 3: write-through.</summary>
    public const ulong WriteThrough = 1UL << 3;

    /// <summary>Bit 4: caching disabled.</summary>
    public const ulong CacheDisable = 1UL << 4;

    /// <summary>Bit 5: set by the CPU when the entry is used for a translation.</summary>
    public const ulong Accessed = 1UL << 5;

    /// <summary>Bit 6: set by the CPU on a write through a leaf entry.</summary>
    public const ulong Dirty = 1UL << 6;

    /// <summary>Bit 7 in a PDPT or PD entry: a 1 GiB or 2 MiB page (refused in guest-managed mappings).</summary>
    public const ulong Large = 1UL << 7;

    /// <summary>Bit 8: global (survives CR3 loads when CR4.PGE is on).</summary>
    public const ulong Global = 1UL << 8;

    /// <summary>Bits 9-11: ignored by the CPU, free for software.</summary>
    public const ulong Available = 0x7UL << 9;

    /// <summary>Bit 63: no execute (EFER.NXE is on).</summary>
    public const ulong NoExecute = 1UL << 63;

    /// <summary>Bits 12-51: the frame address.</summary>
    public const ulong FrameMask = 0x000F_FFFF_FFFF_F000UL;

    /// <summary>Bits 52-62: ignored by the CPU (protection keys off); accepted and kept.</summary>
    public const ulong HighAvailable = 0x7FF0_0000_0000_0000UL;

    /// <summary>Entries in one table.</summary>
    public const int EntriesPerTable = 512;

    /// <summary>Bytes in one frame.</summary>
    public const ulong FrameSize = 4096;

    /// <summary>The frame an entry points at.</summary>
    public static ulong Frame(ulong entry) => entry & FrameMask;

    /// <summary>Whether the entry is present.</summary>
    public static bool IsPresent(ulong entry) => (entry & Present) != 0;

    /// <summary>The table index of <paramref name="virtualAddress"/> at <paramref name="level"/> (4 = PML4 ... 1 = PT).</summary>
    public static int Index(ulong virtualAddress, int level) => (int)((virtualAddress >> (12 + 9 * (level - 1))) & 511);
}
