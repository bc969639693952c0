using System.Collections.Generic;

namespace ParaVirt.Workloads;

/// <summary>
/// The CPU workloads (irq-mask, clock-read, timer-sleep, multicall, cpuid): full mode traps and emulates
/// privileged instructions and emulated devices, para mode uses the shared-info page, the PV clock
/// and hypercalls. See docs/full-vs-para.md for what each pair costs.
/// </summary>
/// <example><code>
/// foreach (WorkloadDefinition w in CpuWorkloadCatalog.Definitions) Console.WriteLine(w.Name);
/// </code></example>
public static class CpuWorkloadCatalog
{
    /// <summary><c>irq-mask</c>: one disable/enable pair around a short critical section (full: cli + sti, 2 traps; para: two stores to the shared-info page).</summary>
    public static WorkloadDefinition IrqMask { get; } = new(
        "irq-mask", "cli/sti pair", 20_000, 2_000, 0,
        "disable and re-enable interrupts around a critical section (full: cli/sti trap, para: shared-info event mask)");

    /// <summary><c>clock-read</c>: one read of the current time (full: PIT channel 2 latch + 2 reads, 3 exits; para: PV clock page, no exit).</summary>
    public static WorkloadDefinition ClockRead { get; } = new(
        "clock-read", "time read", 20_000, 2_000, 0,
        "read the current time (full: emulated PIT latch and count, para: PV clock page and rdtsc)");

    /// <summary><c>timer-sleep</c>: arm a 100 µs one-shot timer and wait for it.</summary>
    public static WorkloadDefinition TimerSleep { get; } = new(
        "timer-sleep", "100 us sleep", 2_000, 200, 0,
        "arm a 100 us one-shot timer and wait (full: PIT mode 0, IRQ0 via the virtual IDT, sti;hlt; para: set_timer + sched_op block)");

    /// <summary><c>multicall</c>: 32 null hypercalls (full: one by one; para: one 32-entry multicall).</summary>
    public static WorkloadDefinition Multicall { get; } = new(
        "multicall", "32 null calls", 2_000, 200, 0,
        "32 null hypercalls (full: 32 exits, para: one 32-entry multicall)");

    /// <summary>
    /// <c>cpuid</c>: one <c>cpuid</c> of the hypervisor leaf 0x40000000 (full: CPUID faulting makes
    /// it trap and the host emulates it, 1 exit; para: the engine's in-kernel table answers, no
    /// exit). Where the host's probe found that a CPL3 cpuid cannot trap (an AMD host under a nested
    /// <c>kvm_pvm</c>), full mode cannot virtualize it: the guest reads the outer hypervisor's
    /// answer, and the row says so.
    /// </summary>
    public static WorkloadDefinition Cpuid { get; } = new(
        "cpuid", "cpuid", 20_000, 2_000, 0,
        "identify the hypervisor with cpuid leaf 0x40000000 (full: CPUID faulting, trap and emulate; para: answered in-kernel)")
    {
        HostLimitation = static (host, mode) => mode switch
        {
            ParaVirt.Core.Machine.VirtualizationMode.Full when !host.CpuidTraps =>
                $"cpuid does not trap at CPL3 on this {host.CpuVendor} host (probed): full mode cannot virtualize it, the guest reads '{host.NativeCpuidSignature}'",
            ParaVirt.Core.Machine.VirtualizationMode.Para when !host.CpuidTableAnswers =>
                $"an untrapped cpuid is answered by the outer hypervisor on this host (probed): the guest reads '{host.NativeCpuidSignature}', not the engine's table",
            _ => null,
        },
    };

    /// <summary>Their definitions; the workload catalog merges them with the I/O workloads.</summary>
    public static IReadOnlyList<WorkloadDefinition> Definitions { get; } = [IrqMask, ClockRead, TimerSleep, Multicall, Cpuid];
}
