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
public readonly record struct PlatformLayout(
    ulong HypercallPage,
    ulong StartInfoPage,
    ulong SharedInfoPage,
    ulong GuestRamStart,
    ulong GuestRamEnd,
    ulong MmioStart,
    ulong MmioEnd);
