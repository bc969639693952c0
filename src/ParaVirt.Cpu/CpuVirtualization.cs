using System;
using ParaVirt.Core.Machine;
using ParaVirt.Cpu.Emulation;
using ParaVirt.Cpu.Para;

namespace ParaVirt.Cpu;

/// <summary>
/// Attaches CPU virtualization to a VM for a mode: in full mode the trap emulator and the emulated
/// timekeeping devices (PIT, CMOS RTC) and CPUID faulting (cpuid traps and is emulated), in para mode the paravirtual replacements (shared-info
/// event mask, sched_op, set_timer, event callback, PV clock). The workload runner calls this for
/// every VM it builds, before the image is loaded.
/// </summary>
/// <example><code>
/// using var vm = new VirtualMachine(new KvmHypervisor(), new VmOptions { OpenPorts = LegacyPlatform.PortsFor(false) });
/// VirtualCpu cpu = CpuVirtualization.Attach(vm, VirtualizationMode.Full);
/// // load the image, PrepareEntry, Run
/// </code></example>
public static class CpuVirtualization
{
    /// <summary>Prepares <paramref name="vm"/> for a guest built in <paramref name="mode"/>; returns the VM's virtual CPU.</summary>
    /// <exception cref="InvalidOperationException">The VM already has a trap handler or resume hook.</exception>
    public static VirtualCpu Attach(VirtualMachine vm, VirtualizationMode mode)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (vm.ResumeHook is not null)
            throw new InvalidOperationException("CPU virtualization is already attached to this VM");
        var cpu = new VirtualCpu(vm, mode);
        ParaHypercalls.Register(cpu, vm.Hypercalls);
        cpu.PvClock.Publish();
        if (mode == VirtualizationMode.Full)
        {
            if (vm.TrapHandler is not null)
                throw new InvalidOperationException("the VM already has a trap handler");
            cpu.AttachLegacyTimers();
            cpu.EnableCpuidFaulting();
            cpu.Emulator = new TrapEmulator(cpu);
            vm.TrapHandler = cpu.Emulator;
        }
        vm.ResumeHook = cpu;
        return cpu;
    }
}
