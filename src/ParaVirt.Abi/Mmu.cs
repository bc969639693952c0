namespace ParaVirt.Abi;

/// <summary>
/// One entry of an <see cref="Hypercall.MmuUpdate"/> list (16 bytes, after Xen's <c>mmu_update</c>):
/// write <see cref="Value"/> into the page-table entry at guest-physical address <see cref="Entry"/>.
/// </summary>
/// <remarks>
/// <see cref="Entry"/> must be 8-byte aligned and lie in a frame the guest pinned as a page table
/// (<see cref="MmuExtCommand"/>). The host validates the new value for that table's level
/// (docs/memory-virtualization.md, "Validation") and either writes it or refuses it and changes
/// nothing.
/// </remarks>
public struct MmuUpdateEntry
{
    /// <summary>Offset 0: guest-physical address of the entry to write.</summary>
    public ulong Entry;

    /// <summary>Offset 8: the new entry (x86-64 page-table format).</summary>
    public ulong Value;
}

/// <summary>Commands of <see cref="Hypercall.MmuExtOp"/> (after Xen's <c>mmuext_op</c>), in <c>arg0</c>.</summary>
public enum MmuExtCommand : ulong
{
    /// <summary>Pins the frame at <c>arg1</c> as a level-1 table (page table): validated once, read-only to the guest until unpinned.</summary>
    PinL1Table = 1,

    /// <summary>Pins the frame at <c>arg1</c> as a level-2 table (page directory).</summary>
    PinL2Table = 2,

    /// <summary>Pins the frame at <c>arg1</c> as a level-3 table (PDPT).</summary>
    PinL3Table = 3,

    /// <summary>Pins the frame at <c>arg1</c> as a level-4 table (PML4, an address-space root). The host fills its slot 0 with the platform's.</summary>
    PinL4Table = 4,

    /// <summary>Unpins the table at <c>arg1</c>: refused while an entry of another table or the base pointer refers to it; the frame is ordinary RAM again.</summary>
    Unpin = 5,

    /// <summary>Switches the address space: the vCPU runs on the pinned level-4 table at <c>arg1</c> (0: the platform's own root). Flushes the TLB.</summary>
    NewBasePointer = 6,

    /// <summary>Drops any cached translation of the virtual address <c>arg1</c>.</summary>
    InvalidatePage = 7,

    /// <summary>Drops every cached translation.</summary>
    FlushTlb = 8,
}

/// <summary>Limits of the paravirtual MMU.</summary>
public static class MmuLimits
{
    /// <summary>The most <see cref="MmuUpdateEntry"/> entries one <see cref="Hypercall.MmuUpdate"/> processes; the result says how many were done and the guest continues from there.</summary>
    public const int MaxUpdatesPerCall = 512;

    /// <summary>The first PML4 slot a guest may use (slot 0 is the platform's identity map).</summary>
    public const int FirstGuestSlot = 1;

    /// <summary>One past the last PML4 slot a guest may use (the upper half is refused).</summary>
    public const int GuestSlotLimit = 256;
}
