namespace ParaVirt.Cpu.Shadow;

/// <summary>The bits of an x86-64 4-level page-table entry and of a #PF error code that the shadow MMU uses.</summary>
internal static class PageTableBits
{
    public const ulong Present = 1, Writable = 2, User = 4, WriteThrough = 8, CacheDisable = 0x10, Accessed = 0x20, Dirty = 0x40, Large = 0x80;
    public const ulong NoExecute = 1UL << 63;

    /// <summary>The frame address of an entry (bits 51:12).</summary>
    public const ulong FrameMask = 0x000F_FFFF_FFFF_F000;

    /// <summary>The bits of a guest table entry that decide what its subtree may do (compared when a guest writes a non-leaf entry).</summary>
    public const ulong PermissionMask = Writable | User | NoExecute;

    /// <summary>#PF error code bits.</summary>
    public const uint ErrorPresent = 1, ErrorWrite = 2, ErrorUser = 4, ErrorReserved = 8, ErrorFetch = 0x10;

    /// <summary>One PML4 slot covers 512 GiB; slot 0 is the platform's identity map.</summary>
    public const ulong SlotSize = 1UL << 39;

    /// <summary>The guest's own mappings live in PML4 slots 1 to 255 (the lower canonical half minus slot 0).</summary>
    public const int FirstGuestSlot = 1, LastGuestSlot = 255;

    /// <summary>One past the highest address the guest's own mappings may cover (the end of the lower canonical half).</summary>
    public const ulong GuestMappingsEnd = 0x0000_8000_0000_0000;

    /// <summary>The table index of <paramref name="address"/> at <paramref name="level"/> (4 = PML4 ... 1 = page table).</summary>
    public static int Index(ulong address, int level) => (int)((address >> (12 + 9 * (level - 1))) & 511);
}
