namespace ParaVirt.Abi.Legacy;

/// <summary>
/// The primary channel's bus-master IDE registers (the PIIX model, Intel 82371AB §2.7 and the
/// SFF-8038i "Bus Master Programming Interface"), and the layout of a Physical Region Descriptor
/// (PRD). On a PC these ports come from the IDE function's PCI BAR4; ParaVirt has no PCI bus and
/// fixes the base at <see cref="Base"/> (C000h, where QEMU's BIOS usually puts it).
/// </summary>
/// <remarks>
/// A PRD table is an array of 8-byte entries in guest memory, dword aligned: a 32-bit physical
/// address of a memory region (bit 0 ignored), a 16-bit byte count (bit 0 ignored, 0 means 64 KiB),
/// and a 16-bit word whose bit 15 is End Of Table. The table must not cross a 64 KiB boundary.
/// </remarks>
/// <example><code>
/// Cpu.OutDword(IdeBusMasterRegisters.PrdTableAddress, (uint)prdTable);          // once
/// // per request: taskfile, READ DMA, then
/// Cpu.OutByte(IdeBusMasterRegisters.Command, IdeBusMasterRegisters.CommandStart | IdeBusMasterRegisters.CommandToMemory);
/// </code></example>
public static class IdeBusMasterRegisters
{
    /// <summary>The first port of the primary channel's bus-master registers.</summary>
    public const ushort Base = 0xC000;

    /// <summary>Ports in the primary channel's block (command, reserved, status, reserved, PRD table address x4).</summary>
    public const int Length = 8;

    /// <summary>Bus Master IDE Command register (byte, read/write).</summary>
    public const ushort Command = Base + 0;

    /// <summary>Bus Master IDE Status register (byte).</summary>
    public const ushort Status = Base + 2;

    /// <summary>Descriptor Table Pointer register (dword; bits 1:0 read as zero).</summary>
    public const ushort PrdTableAddress = Base + 4;

    /// <summary>Command bit 0, Start/Stop Bus Master: a 0-to-1 transition starts the engine at the table's first entry; 0 stops it.</summary>
    public const byte CommandStart = 0x01;

    /// <summary>Command bit 3, Read/Write Control: 1 = the engine writes memory (READ DMA), 0 = it reads memory (WRITE DMA).</summary>
    public const byte CommandToMemory = 0x08;

    /// <summary>Status bit 0, Bus Master IDE Active (read only): set by the start, cleared when the EOT region is done, on an error, or by the stop.</summary>
    public const byte StatusActive = 0x01;

    /// <summary>Status bit 1, Error (write 1 to clear): the engine could not transfer (a PRD or region outside memory, a table without EOT, a direction that contradicts the command).</summary>
    public const byte StatusError = 0x02;

    /// <summary>Status bit 2, Interrupt (write 1 to clear): the drive raised INTRQ (with nIEN clear).</summary>
    public const byte StatusInterrupt = 0x04;

    /// <summary>Status bit 5, Drive 0 DMA Capable (read/write, kept for software).</summary>
    public const byte StatusDrive0Capable = 0x20;

    /// <summary>Status bit 6, Drive 1 DMA Capable (read/write, kept for software).</summary>
    public const byte StatusDrive1Capable = 0x40;

    /// <summary>Bytes per PRD entry.</summary>
    public const int PrdEntrySize = 8;

    /// <summary>The End Of Table bit in a PRD entry's last 16-bit word (bit 31 of its second dword).</summary>
    public const uint PrdEndOfTable = 0x8000_0000;

    /// <summary>The most entries a table can hold (64 KiB / 8): a table must not cross a 64 KiB boundary.</summary>
    public const int MaxPrdEntries = 65536 / PrdEntrySize;
}
