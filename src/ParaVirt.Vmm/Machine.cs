using System;
using ParaVirt.Core.Machine;
using ParaVirt.Cpu;
using ParaVirt.Devices.Emulated;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Vmm;

/// <summary>
/// A VM as <see cref="MachineBuilder"/> assembled it: the <see cref="VirtualMachine"/>, its CPU
/// virtualization, the platform's devices (each registered once, by the builder) and where the
/// image was placed. Disposing the machine disposes the VM; the disk file stays the caller's.
/// </summary>
/// <example><code>
/// using Machine machine = MachineBuilder.Create().WithMode(VirtualizationMode.Full).WithImage(image).Build();
/// VmStopReason stop = machine.Run(TimeSpan.FromSeconds(10));
/// long pitExits = machine.Vm.Exits[ExitReason.PortIo];
/// </code></example>
public sealed class Machine : IDisposable
{
    internal Machine(VirtualMachine vm, VirtualizationMode? mode, VirtualCpu? cpu, LegacyDevices? legacy, VirtioTransport? virtio, LoadedImage? image)
    {
        Vm = vm;
        Mode = mode;
        Cpu = cpu;
        Legacy = legacy;
        Virtio = virtio;
        Image = image;
    }

    /// <summary>The VM: memory, buses, hypercalls, exit statistics, the run loop.</summary>
    public VirtualMachine Vm { get; }

    /// <summary>The engine's name (see <see cref="Engines"/>).</summary>
    public string EngineName => Vm.EngineName;

    /// <summary>The mode the platform was built for, or null for a bare machine.</summary>
    public VirtualizationMode? Mode { get; }

    /// <summary>CPU virtualization, or null for a bare machine.</summary>
    public VirtualCpu? Cpu { get; }

    /// <summary>Full mode: the PC devices (PIT, RTC, COM1, the ATA disk when there is one); otherwise null.</summary>
    public LegacyDevices? Legacy { get; }

    /// <summary>Para mode: the virtio transport (virtio-console is device 0, virtio-blk device 1 when there is a disk); otherwise null.</summary>
    public VirtioTransport? Virtio { get; }

    /// <summary>Para mode: the paravirtual MMU (direct paging, docs/memory-virtualization.md); otherwise null.</summary>
    public ParaVirt.Mmu.Para.ParaMmu? ParaMmu { get; internal init; }

    /// <summary>Where the image was placed, or null when none was loaded (the caller prepares the entry).</summary>
    public LoadedImage? Image { get; }

    /// <summary>Runs the guest until it stops or <paramref name="timeout"/> passes (<see cref="VirtualMachine.Run"/>).</summary>
    public VmStopReason Run(TimeSpan? timeout = null) => Vm.Run(timeout);

    /// <summary>Disposes the VM (and with it the CPU virtualization's timers).</summary>
    public void Dispose() => Vm.Dispose();
}
