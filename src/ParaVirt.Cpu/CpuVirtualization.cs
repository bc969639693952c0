using System;
using ParaVirt.Core.Machine;
using ParaVirt.Cpu.Emulation;
using ParaVirt.Cpu.Para;
using ParaVirt.Devices.Emulated.Pit;
using ParaVirt.Devices.Emulated.Rtc;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Cpu;

/// <summary>
/// Attaches CPU virtualization to a VM for a mode: in full mode the trap emulator, interrupt
/// delivery from the given emulated PIT and CPUID faulting (cpuid traps and is emulated), in para
/// mode the paravirtual replacements (shared-info event mask, sched_op, set_timer, event callback,
/// PV clock). It creates no devices: the machine builder (ParaVirt.Vmm's <c>MachineBuilder</c>)
/// registers the platform's devices once and hands the PIT and RTC over here.
/// </summary>
/// <example><code>
/// // what MachineBuilder does for a full-mode machine
/// var clock = new SystemClock();
/// LegacyDevices legacy = LegacyPlatform.Attach(vm, disk, clock);
/// VirtualCpu cpu = CpuVirtualization.Attach(vm, VirtualizationMode.Full, clock, legacy.Pit, legacy.Rtc);
/// </code></example>
public static class CpuVirtualization
{
    /// <summary>Prepares <paramref name="vm"/> for a guest built in <paramref name="mode"/>; returns the VM's virtual CPU.</summary>
    /// <param name="vm">The machine, before its image is loaded.</param>
    /// <param name="mode">The mode the guest was built for.</param>
    /// <param name="clock">The VM's system time: timer deadlines, the PV clock and the PIT count in it.</param>
    /// <param name="pit">Full mode: the PIT whose channel 0 is IRQ0, counting on <paramref name="clock"/>; null for none.</param>
    /// <param name="rtc">Full mode: the CMOS RTC, or null.</param>
    /// <exception cref="InvalidOperationException">The VM already has a trap handler or resume hook.</exception>
    public static VirtualCpu Attach(VirtualMachine vm, VirtualizationMode mode, IClock clock, Pit8254? pit = null, CmosRtc? rtc = null)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(clock);
        if (vm.ResumeHook is not null)
            throw new InvalidOperationException("CPU virtualization is already attached to this VM");
        if (mode == VirtualizationMode.Full && vm.TrapHandler is not null)
            throw new InvalidOperationException("the VM already has a trap handler");
        var cpu = new VirtualCpu(vm, mode, clock, pit, rtc);
        ParaHypercalls.Register(cpu, vm.Hypercalls);
        cpu.PvClock.Publish();
        if (mode == VirtualizationMode.Full)
        {
            cpu.EnableCpuidFaulting();
            cpu.Emulator = new TrapEmulator(cpu);
            vm.TrapHandler = cpu.Emulator;
        }
        vm.ResumeHook = cpu;
        return cpu;
    }
}
