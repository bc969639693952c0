namespace ParaVirt.Abi.Legacy;

/// <summary>
/// The primary ATA channel's registers as a PC places them, and the Device and Device Control bits
/// both the emulated disk and the guest driver use (ATA/ATAPI-6 §7).
/// </summary>
/// <example><code>
/// Cpu.OutByte(AtaRegisters.DeviceControl, AtaRegisters.ControlNoInterrupt);
/// Cpu.OutByte(AtaRegisters.Device, AtaRegisters.DeviceLbaMaster);
/// Cpu.OutByte(AtaRegisters.Command, AtaCommand.IdentifyDevice);
/// </code></example>
public static class AtaRegisters
{
    /// <summary>Base port of the command block (the Data register).</summary>
    public const ushort CommandBlockBase = 0x1F0;

    /// <summary>Ports in the command block.</summary>
    public const int CommandBlockLength = 8;

    /// <summary>The primary channel's interrupt line, IRQ14 (full mode: vector 0x20 + 14 = 0x2E).</summary>
    public const int InterruptLine = 14;

    /// <summary>Data (16-bit PIO transfers).</summary>
    public const ushort Data = CommandBlockBase + 0;

    /// <summary>Error (read) / Features (write).</summary>
    public const ushort Error = CommandBlockBase + 1;

    /// <summary>Sector Count.</summary>
    public const ushort SectorCount = CommandBlockBase + 2;

    /// <summary>LBA bits 0-7.</summary>
    public const ushort LbaLow = CommandBlockBase + 3;

    /// <summary>LBA bits 8-15.</summary>
    public const ushort LbaMid = CommandBlockBase + 4;

    /// <summary>LBA bits 16-23.</summary>
    public const ushort LbaHigh = CommandBlockBase + 5;

    /// <summary>Device: drive select, LBA mode, LBA bits 24-27.</summary>
    public const ushort Device = CommandBlockBase + 6;

    /// <summary>Status (read) / Command (write).</summary>
    public const ushort Command = CommandBlockBase + 7;

    /// <summary>The control block port: Alternate Status (read) / Device Control (write).</summary>
    public const ushort DeviceControl = 0x3F6;

    /// <summary>Device register: DEV, selects device 1.</summary>
    public const byte DeviceSelect1 = 0x10;

    /// <summary>Device register: LBA addressing.</summary>
    public const byte DeviceLba = 0x40;

    /// <summary>Device register value selecting device 0 in LBA mode (the obsolete bits 7 and 5 set).</summary>
    public const byte DeviceLbaMaster = 0xE0;

    /// <summary>Device Control: nIEN, interrupts off.</summary>
    public const byte ControlNoInterrupt = 0x02;

    /// <summary>Device Control: SRST, software reset.</summary>
    public const byte ControlSoftReset = 0x04;
}
