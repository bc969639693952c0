namespace ParaVirt.Abi.Legacy;

/// <summary>
/// Where the full-virtualization platform's PC devices sit on the port bus, as on a PC, and the
/// PIT's input clock. The host registers its emulated devices here; full-mode guests program them
/// here. The ATA disk's registers are in <see cref="AtaRegisters"/>.
/// </summary>
/// <example><code>
/// Cpu.OutByte(LegacyPorts.PitControl, 0x30);   // channel 0, lobyte/hibyte, mode 0
/// Cpu.OutByte(LegacyPorts.PitChannel0, (byte)ticks);
/// var uart = new Uart16550Driver(LegacyPorts.Com1);
/// </code></example>
public static class LegacyPorts
{
    /// <summary>The i8254 PIT: channel 0 (IRQ0), the first of its 4 ports.</summary>
    public const ushort PitChannel0 = 0x40;

    /// <summary>The PIT's channel 2 (the speaker channel, free-running for clocks).</summary>
    public const ushort PitChannel2 = 0x42;

    /// <summary>The PIT's mode/command register.</summary>
    public const ushort PitControl = 0x43;

    /// <summary>The PIT's input clock, Hz.</summary>
    public const ulong PitInputHz = 1_193_182;

    /// <summary>The CMOS RTC's index register; the data register follows.</summary>
    public const ushort RtcIndex = 0x70;

    /// <summary>COM1, a 16550 UART: the first of its 8 registers (IRQ4).</summary>
    public const ushort Com1 = 0x3F8;
}
