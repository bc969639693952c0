using System.Collections.Generic;

namespace ParaVirt.Workloads;

/// <summary>The CPU workloads (irq-mask, clock-read, timer-sleep, multicall).</summary>
public static class CpuWorkloadCatalog
{
    /// <summary>Their definitions; the workload catalog merges them with the I/O workloads.</summary>
    public static IReadOnlyList<WorkloadDefinition> Definitions { get; } = [];
}
