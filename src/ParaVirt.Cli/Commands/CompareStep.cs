using ParaVirt.Core.Machine;
using ParaVirt.Vmm;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>One run of <c>paravirt compare</c>: a workload in a mode, on a disk device (null: the mode's default, or no disk).</summary>
internal sealed record CompareStep(WorkloadDefinition Workload, VirtualizationMode Mode, DiskInterface? Disk)
{
    /// <summary>"blk-read (full, ide-dma)", "console (para)".</summary>
    public string Label => Disk is { } d
        ? $"{Workload.Name} ({CompareReport.ModeName(Mode)}, {DiskDevices.WireName(d)})"
        : $"{Workload.Name} ({CompareReport.ModeName(Mode)})";
}
