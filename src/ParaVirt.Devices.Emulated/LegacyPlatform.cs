using System;
using System.Collections.Generic;
using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Console;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated.Ata;
using ParaVirt.Devices.Emulated.Ide;
using ParaVirt.Devices.Emulated.Pit;
using ParaVirt.Devices.Emulated.Rtc;
using ParaVirt.Devices.Emulated.Timing;
using ParaVirt.Devices.Emulated.Uart;

namespace ParaVirt.Devices.Emulated;

/// <summary>
/// Registers the standard PC devices on a port bus: PIT (40h-43h), CMOS RTC (70h-71h), primary ATA
/// master (1F0h-1F7h, 3F6h) when a disk is given, optionally with the PIIX bus-master DMA function
/// (C000h-C007h, <see cref="IdeBusMaster"/>), and COM1 (3F8h-3FFh).
/// </summary>
/// <remarks>
/// The ports must also be open in the VM's I/O permission bitmap, which is fixed when the VM is
/// built: take <see cref="PortsFor"/> into <see cref="VmOptions.OpenPorts"/>, build the VM, then
/// <see cref="Attach(VirtualMachine, DiskImage?, IClock, DateTime?)"/>.
/// </remarks>
/// <example>
/// <code>
/// // what ParaVirt.Vmm's MachineBuilder does for a full-mode machine (the devices' one owner):
/// var options = new VmOptions { ConsoleOutput = pipe.Writer, OpenPorts = LegacyPlatform.PortsFor(withDisk: true) };
/// LegacyDevices devices = LegacyPlatform.Attach(vm, DiskImage.Open("disk.img"), clock);
/// </code>
/// </example>
public static class LegacyPlatform
{
    /// <summary>COM1's base port.</summary>
    public const ushort Com1Base = LegacyPorts.Com1;

    /// <summary>The ports the standard devices claim, ascending: what to put in <see cref="VmOptions.OpenPorts"/>.</summary>
    /// <param name="withDisk">The ATA primary master is present.</param>
    /// <param name="withBusMaster">Its bus-master DMA function is present too (ignored without a disk).</param>
    public static IReadOnlyList<ushort> PortsFor(bool withDisk, bool withBusMaster = false)
    {
        var ports = new List<ushort>();
        AddRange(ports, Pit8254.BasePort, Pit8254.PortCount);
        AddRange(ports, CmosRtc.BasePort, CmosRtc.PortCount);
        if (withDisk)
        {
            AddRange(ports, AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength);
            ports.Add(AtaPioDisk.ControlBlockPort);
        }
        AddRange(ports, Com1Base, Uart16550.PortCount);
        if (withDisk && withBusMaster)
            AddRange(ports, IdeBusMasterRegisters.Base, IdeBusMasterRegisters.Length);
        return ports.AsReadOnly();
    }

    /// <summary>Registers the devices on <paramref name="vm"/>'s port bus, the UART on its console.</summary>
    /// <param name="vm">The machine.</param>
    /// <param name="disk">The primary master's image, or null for no disk.</param>
    /// <param name="clock">The time source of the PIT and RTC.</param>
    /// <param name="wallTime">The RTC's time now; the host's UTC time when null.</param>
    /// <exception cref="ArgumentException">A port is already claimed on the bus.</exception>
    public static LegacyDevices Attach(VirtualMachine vm, DiskImage? disk, IClock clock, DateTime? wallTime = null) =>
        Attach(vm, disk, clock, wallTime, busMasterDma: false);

    /// <summary>Registers the devices on <paramref name="vm"/>'s port bus, the UART on its console, optionally with the disk's bus-master DMA function.</summary>
    /// <param name="vm">The machine.</param>
    /// <param name="disk">The primary master's image, or null for no disk.</param>
    /// <param name="clock">The time source of the PIT and RTC.</param>
    /// <param name="wallTime">The RTC's time now; the host's UTC time when null.</param>
    /// <param name="busMasterDma">Give the disk the bus-master DMA function, moving data in the VM's writable RAM (ignored without a disk).</param>
    /// <exception cref="ArgumentException">A port is already claimed on the bus.</exception>
    public static LegacyDevices Attach(VirtualMachine vm, DiskImage? disk, IClock clock, DateTime? wallTime, bool busMasterDma)
    {
        ArgumentNullException.ThrowIfNull(vm);
        return Attach(vm.PortBus, vm.Console, disk, clock, wallTime ?? DateTime.UtcNow, busMasterDma ? vm.WritableMemory : null);
    }

    /// <summary>Registers the devices on <paramref name="portBus"/>: the engine-free form, for tests and tools.</summary>
    /// <exception cref="ArgumentException">A port is already claimed on the bus.</exception>
    public static LegacyDevices Attach(IoBus portBus, GuestConsole console, DiskImage? disk, IClock clock, DateTime wallTime) =>
        Attach(portBus, console, disk, clock, wallTime, dmaMemory: null);

    /// <summary>Registers the devices on <paramref name="portBus"/>, the disk with the bus-master DMA function when <paramref name="dmaMemory"/> is given.</summary>
    /// <param name="portBus">The port bus.</param>
    /// <param name="console">The UART's console.</param>
    /// <param name="disk">The primary master's image, or null for no disk.</param>
    /// <param name="clock">The time source of the PIT and RTC.</param>
    /// <param name="wallTime">The RTC's time now.</param>
    /// <param name="dmaMemory">With a disk: the guest memory the bus-master DMA function moves data in; null for a PIO-only drive.</param>
    /// <exception cref="ArgumentException">A port is already claimed on the bus.</exception>
    public static LegacyDevices Attach(IoBus portBus, GuestConsole console, DiskImage? disk, IClock clock, DateTime wallTime, GuestMemory? dmaMemory)
    {
        ArgumentNullException.ThrowIfNull(portBus);
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(clock);
        var pit = new Pit8254(clock);
        var rtc = new CmosRtc(clock, wallTime);
        var uart = new Uart16550(console);
        AtaPioDisk? ata = disk is null ? null : new AtaPioDisk(disk);
        portBus.Register(Pit8254.BasePort, Pit8254.PortCount, pit);
        portBus.Register(CmosRtc.BasePort, CmosRtc.PortCount, rtc);
        if (ata is not null)
        {
            portBus.Register(AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength, ata);
            portBus.Register(AtaPioDisk.ControlBlockPort, 1, ata.ControlBlock);
        }
        portBus.Register(Com1Base, Uart16550.PortCount, uart);
        IdeBusMaster? busMaster = ata is not null && dmaMemory is not null ? new IdeBusMaster(ata, dmaMemory) : null;
        if (busMaster is not null)
            portBus.Register(IdeBusMasterRegisters.Base, IdeBusMasterRegisters.Length, busMaster);
        return new LegacyDevices(uart, ata, busMaster, pit, rtc, PortsFor(ata is not null, busMaster is not null));
    }

    private static void AddRange(List<ushort> ports, ushort first, int count)
    {
        for (int i = 0; i < count; i++)
            ports.Add((ushort)(first + i));
    }
}
