namespace ParaVirt.Core.Engine;

/// <summary>
/// Where an engine placed its platform pages in guest memory, and the RAM left for the guest.
/// The core writes the start-info page and loads images inside <see cref="GuestRamStart"/> to
/// <see cref="GuestRamEnd"/>.
/// </summary>
/// <param name="HypercallPage">Guest address of the hypercall page (stubs written by the engine).</param>
/// <param name="StartInfoPage">Guest address of the start-info page (written by the core).</param>
/// <param name="SharedInfoPage">Guest address of a page the guest may read and write, shared with the host.</param>
/// <param name="GuestRamStart">First byte the guest may use for its image, heap and stack.</param>
/// <param name="GuestRamEnd">One past the last byte of guest-usable RAM.</param>
/// <param name="MmioStart">First guest-physical address of the MMIO window (mapped, not RAM).</param>
/// <param name="MmioEnd">One past the last address of the MMIO window.</param>
/// <param name="PageTableRoot">
/// Guest-physical address of the platform's top-level table (PML4), 0 if the engine builds none.
/// Its slot 0 (virtual 0 to 512 GiB) is the platform's identity map; every address space the
/// guest builds shares that slot and cannot change it (docs/memory-virtualization.md).
/// </param>
/// <param name="RamPageDirectory">
/// Guest-physical address of the page directory that maps guest RAM in 2 MiB pages (entry n maps
/// guest-physical n * 2 MiB), 0 if none. The MMU splits one of its entries into a 4 KiB table to
/// take write access to a single frame away.
/// </param>
public readonly record struct PlatformLayout(
    ulong HypercallPage,
    ulong StartInfoPage,
    ulong SharedInfoPage,
    ulong GuestRamStart,
    ulong GuestRamEnd,
    ulong MmioStart,
    ulong MmioEnd,
    ulong PageTableRoot = 0,
    ulong RamPageDirectory = 0);
