using System;
using System.Collections.Generic;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated;
using ParaVirt.Devices.Emulated.Ata;
using ParaVirt.Devices.Emulated.Timing;
using ParaVirt.Devices.Emulated.Uart;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Workloads;

/// <summary>
/// The devices a workload VM gets in each mode, over the same disk file: full mode the legacy PC
/// platform (16550 UART on COM1, ATA PIO primary master, PIT, RTC), its ports open in the I/O
/// bitmap; para mode the virtio transport with virtio-console (device 0) and virtio-blk (device 1),
/// no ports open. Without a disk, the disk devices are left out. <c>paravirt run --mode</c> uses
/// the same platform.
/// </summary>
/// <example><code>
/// using var vm = new VirtualMachine(engine, WorkloadPlatform.VmOptions(mode, pipe.Writer, 32UL &lt;&lt; 20));
/// CpuVirtualization.Attach(vm, mode);
/// WorkloadPlatform.Attach(vm, mode, disk);
/// </code></example>
public static class WorkloadPlatform
{
    /// <summary>The VM options for <paramref name="mode"/>: RAM, the console pipe, the open ports.</summary>
    public static VmOptions VmOptions(VirtualizationMode mode, System.IO.Pipelines.PipeWriter console, ulong memorySize, bool withDisk = true) => new()
    {
        MemorySize = memorySize,
        ConsoleOutput = console,
        OpenPorts = mode == VirtualizationMode.Full ? LegacyPlatform.PortsFor(withDisk) : Array.Empty<ushort>(),
    };

    /// <summary>
    /// Attaches the devices of <paramref name="mode"/>. In full mode, when CPU virtualization has
    /// already claimed some legacy ports (its PIT or RTC), only the devices whose ports are still
    /// free are added; the UART and the disk must be free.
    /// </summary>
    /// <exception cref="InvalidOperationException">The UART or disk ports are taken.</exception>
    public static void Attach(VirtualMachine vm, VirtualizationMode mode, DiskImage? disk)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (mode == VirtualizationMode.Para)
        {
            VirtioTransport transport = VirtioTransport.Attach(vm);
            transport.Add(new VirtioConsole(vm.WritableMemory, vm.Console));
            if (disk is not null)
                transport.Add(new VirtioBlock(vm.WritableMemory, disk));
            return;
        }
        IReadOnlyList<ushort> ports = LegacyPlatform.PortsFor(withDisk: disk is not null);
        bool anyClaimed = false;
        foreach (ushort port in ports)
            anyClaimed |= vm.PortBus.Resolve(port, 1, out _) is not null;
        if (!anyClaimed)
        {
            LegacyPlatform.Attach(vm, disk, new SystemClock());
            return;
        }
        // CPU virtualization brought its own timer devices: add the I/O devices beside them.
        RequireFree(vm, LegacyPlatform.Com1Base, Uart16550.PortCount, "COM1");
        vm.PortBus.Register(LegacyPlatform.Com1Base, Uart16550.PortCount, new Uart16550(vm.Console));
        if (disk is null)
            return;
        var ata = new AtaPioDisk(disk);
        RequireFree(vm, AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength, "the ATA command block");
        RequireFree(vm, AtaPioDisk.ControlBlockPort, 1, "the ATA control block");
        vm.PortBus.Register(AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength, ata);
        vm.PortBus.Register(AtaPioDisk.ControlBlockPort, 1, ata.ControlBlock);
    }

    private static void RequireFree(VirtualMachine vm, ushort first, int count, string what)
    {
        for (int i = 0; i < count; i++)
            if (vm.PortBus.Resolve((ushort)(first + i), 1, out _) is not null)
                throw new InvalidOperationException($"{what} (port 0x{first + i:x}) is already claimed on the port bus");
    }
}
