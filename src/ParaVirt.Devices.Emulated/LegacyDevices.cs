using System.Collections.Generic;
using ParaVirt.Devices.Emulated.Ata;
using ParaVirt.Devices.Emulated.Ide;
using ParaVirt.Devices.Emulated.Pit;
using ParaVirt.Devices.Emulated.Rtc;
using ParaVirt.Devices.Emulated.Uart;

namespace ParaVirt.Devices.Emulated;

/// <summary>The standard PC devices <see cref="LegacyPlatform.Attach(ParaVirt.Core.Machine.VirtualMachine, ParaVirt.Core.Storage.DiskImage?, ParaVirt.Devices.Emulated.Timing.IClock, System.DateTime?)"/> registered, and the ports they claim.</summary>
/// <example>
/// <code>
/// LegacyDevices devices = LegacyPlatform.Attach(vm, disk, clock);
/// if (devices.Pit.TakeIrq0Edges() &gt; 0) { /* IRQ0 */ }
/// if (devices.Uart.IrqAsserted) { /* IRQ4 */ }
/// if (devices.Disk?.IrqAsserted == true) { /* IRQ14 */ }
/// </code>
/// </example>
public sealed class LegacyDevices
{
    internal LegacyDevices(Uart16550 uart, AtaPioDisk? disk, IdeBusMaster? busMaster, Pit8254 pit, CmosRtc rtc, IReadOnlyList<ushort> ports)
    {
        Uart = uart;
        Disk = disk;
        BusMaster = busMaster;
        Pit = pit;
        Rtc = rtc;
        Ports = ports;
    }

    /// <summary>COM1 at 0x3F8 (IRQ4).</summary>
    public Uart16550 Uart { get; }

    /// <summary>The primary ATA master at 0x1F0/0x3F6 (IRQ14), or null without a disk image.</summary>
    public AtaPioDisk? Disk { get; }

    /// <summary>The disk's bus-master DMA function at 0xC000 (the PIIX model), or null for a PIO-only disk or none.</summary>
    public IdeBusMaster? BusMaster { get; }

    /// <summary>The PIT at 0x40 (channel 0 is IRQ0).</summary>
    public Pit8254 Pit { get; }

    /// <summary>The RTC and CMOS RAM at 0x70 (IRQ8).</summary>
    public CmosRtc Rtc { get; }

    /// <summary>Every port the devices claim, ascending.</summary>
    public IReadOnlyList<ushort> Ports { get; }
}
