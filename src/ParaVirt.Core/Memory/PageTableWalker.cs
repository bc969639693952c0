namespace ParaVirt.Core.Memory;

/// <summary>
/// Translates a guest virtual address through the guest's own 4-level x86-64 page tables, as the
/// CPU would (CR3, PML4, PDPT, PD, PT; 1 GiB and 2 MiB pages). Every table entry is read through a
/// bounds-checked <see cref="GuestMemory"/>: a table outside guest memory, a non-present entry or a
/// non-canonical address is a failed translation, never a host access outside guest memory. For
/// debuggers and diagnostics; allocates nothing.
/// </summary>
/// <example><code>
/// if (PageTableWalker.TryTranslate(vm.PhysicalMemory, vm.ReadControlRegister(3), rip, out ulong phys, out ulong left))
///     vm.Memory.TryRead(phys, buffer[..(int)Math.Min(left, 16)]);
/// </code></example>
public static class PageTableWalker
{
    private const ulong Present = 1, LargePage = 1UL << 7;
    private const ulong AddressMask = 0x000F_FFFF_FFFF_F000;

    /// <summary>
    /// Translates <paramref name="virtualAddress"/>. <paramref name="bytesLeftInPage"/> is how many
    /// bytes from it share the same page (so a copy can go page by page).
    /// </summary>
    public static bool TryTranslate(GuestMemory tables, ulong cr3, ulong virtualAddress, out ulong physicalAddress, out ulong bytesLeftInPage)
    {
        physicalAddress = 0;
        bytesLeftInPage = 0;
        if ((ulong)((long)(virtualAddress << 16) >> 16) != virtualAddress)
            return false; // not canonical
        ulong table = cr3 & AddressMask;
        for (int level = 3; level >= 0; level--)
        {
            int shift = 12 + (9 * level);
            ulong index = (virtualAddress >> shift) & 0x1FF;
            if (!tables.TryRead(table + (index * 8), out ulong entry) || (entry & Present) == 0)
                return false;
            bool leaf = level == 0 || (level is 1 or 2 && (entry & LargePage) != 0);
            if (leaf)
            {
                ulong pageSize = 1UL << shift;
                ulong offset = virtualAddress & (pageSize - 1);
                physicalAddress = (entry & AddressMask & ~(pageSize - 1)) + offset;
                bytesLeftInPage = pageSize - offset;
                return true;
            }
            table = entry & AddressMask;
        }
        return false;
    }
}
