using ParaVirt.Core.Machine;
using ParaVirt.Vmm;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>One run of <c>paravirt compare</c>: a workload in a mode, on a disk device (null: the mode's default, or no disk), waiting for it by <paramref name="Completion"/>.</summary>
internal sealed record CompareStep(WorkloadDefinition Workload, VirtualizationMode Mode, DiskInterface? Disk, DiskCompletion Completion = DiskCompletion.Poll)
{
    /// <summary>"blk-read (full, ide-dma)", "blk-read (full, nvme, interrupt)", "console (para)".</summary>
    public string Label => Disk is { } d
        ? $"{Workload.Name} ({CompareReport.ModeName(Mode)}, {DiskDevices.WireName(d)}{(Completion == DiskCompletion.Interrupt ? ", interrupt" : "")})"
        : $"{Workload.Name} ({CompareReport.ModeName(Mode)})";
}
