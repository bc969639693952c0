using System;
using BenchmarkDotNet.Attributes;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Benchmarks;

/// <summary>
/// The workloads of <c>paravirt compare</c> (quick operation counts) in full and para mode on KVM,
/// each block workload on its mode's default disk (ATA PIO, virtio-blk; every disk:
/// <see cref="DiskLadderBenchmarks"/>): the CPU workloads, the memory workloads, the console and
/// the block workloads. One benchmark invocation is one whole run: VM creation, boot, the measured loop, shutdown.
/// The extra columns come from inside the guest's measured window: exact exits per operation
/// (<see cref="WorkloadExitsColumn"/>) and the window's time per operation
/// (<see cref="WorkloadWindowTimeColumn"/>). Runs in process (<see cref="WorkloadBenchmarkConfig"/>)
/// so the columns can read the counts the runs recorded.
/// </summary>
[Config(typeof(WorkloadBenchmarkConfig))]
[MemoryDiagnoser]
public class WorkloadBenchmarks : IWorkloadCase
{
    private readonly WorkloadRunner _runner = new();
    private WorkloadDefinition _workload = null!;

    /// <summary>Every workload of the catalog (its order).</summary>
    public static System.Collections.Generic.IEnumerable<string> Workloads => System.Linq.Enumerable.Select(WorkloadCatalog.All, w => w.Name);

    [ParamsSource(nameof(Workloads))]
    public string Workload { get; set; } = "console";

    [Params(VirtualizationMode.Full, VirtualizationMode.Para)]
    public VirtualizationMode Mode { get; set; }

    /// <inheritdoc/>
    public string CaseKey
    {
        get
        {
            WorkloadDefinition? w = WorkloadCatalog.Find(Workload);
            bool disk = w is not null && w.Disk != WorkloadDisk.None;
            string device = !disk ? "-" : DiskDevices.WireName(ParaVirt.Vmm.DiskInterfaces.DefaultFor(Mode));
            return $"{Workload}/{Mode}/{device}/{(disk ? DiskCompletion.Poll.ToString() : "-")}";
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        if (!WorkloadRunner.IsAvailable(out string reason))
            throw new InvalidOperationException($"KVM is not usable here: {reason}");
        _workload = WorkloadCatalog.Find(Workload) ?? throw new InvalidOperationException($"unknown workload {Workload}");
    }

    [Benchmark(Description = "workload run (quick)")]
    public WorkloadResult Run()
    {
        WorkloadResult result = _runner.Run(_workload, Mode, new WorkloadRunOptions { Quick = true });
        if (!result.Verified)
            throw new InvalidOperationException($"{Workload} ({Mode}) did not verify: {result.Failure}");
        WorkloadMeasurements.Record(result);
        return result;
    }
}
