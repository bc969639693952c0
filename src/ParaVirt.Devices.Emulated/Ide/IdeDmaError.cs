namespace ParaVirt.Devices.Emulated.Ide;

/// <summary>
/// Why the bus-master engine stopped a transfer with the Error bit (the bit stays set until the
/// guest writes 1 to it, as on a PIIX; the value here is the last error, for diagnostics and tests).
/// Every such stop also ends the drive's command with ERR and ABRT.
/// </summary>
public enum IdeDmaError
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>A PRD entry lies (partly) outside guest RAM.</summary>
    TableOutsideMemory,

    /// <summary>The table reached the 64 KiB boundary (8,192 entries at most) without an End Of Table entry: a table that loops or runs on.</summary>
    TableWithoutEnd,

    /// <summary>A PRD's memory region (address, byte count) lies (partly) outside guest RAM.</summary>
    RegionOutsideMemory,

    /// <summary>The Read/Write Control bit contradicts the drive's command (READ DMA needs the engine to write memory, WRITE DMA to read it).</summary>
    DirectionMismatch,
}
