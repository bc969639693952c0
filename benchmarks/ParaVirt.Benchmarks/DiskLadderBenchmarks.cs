using System;
using System.Collections.Generic;
using BenchmarkDotNet.Attributes;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;
using ParaVirt.Workloads;

namespace ParaVirt.Benchmarks;

/// <summary>
/// The I/O ladder (docs/io-ladder.md) under BenchmarkDotNet: each block workload of
/// <c>paravirt compare</c> (quick operation counts) on every disk device, polled and, where the
/// device completes after its exit, interrupt-driven: <c>ata-pio</c>, <c>ide-dma</c>,
/// <c>ide-dma+irq</c>, <c>nvme</c>, <c>nvme+irq</c> in full mode, <c>virtio-blk</c>,
/// <c>virtio-blk-async</c>, <c>virtio-blk-async+event</c> in para mode. One invocation is one whole
/// VM run; the exits and window-time columns come from inside the guest's measured window.
/// </summary>
/// <example><code>
/// dotnet run -c Release --project benchmarks/ParaVirt.Benchmarks -- --filter '*DiskLadder*'
/// </code></example>
[Config(typeof(WorkloadBenchmarkConfig))]
[MemoryDiagnoser]
public class DiskLadderBenchmarks : IWorkloadCase
{
    private readonly WorkloadRunner _runner = new();
    private WorkloadDefinition _workload = null!;
    private DiskInterface _disk;
    private DiskCompletion _completion;

    [Params("blk-write", "blk-read", "blk-randread", "blk-randread-qd32")]
    public string Workload { get; set; } = "blk-read";

    /// <summary>Every device of both modes, and the interrupt-driven variant of each device that completes after its exit.</summary>
    public static IEnumerable<string> Devices()
    {
        foreach (VirtualizationMode mode in new[] { VirtualizationMode.Full, VirtualizationMode.Para })
        {
            foreach (DiskInterface d in DiskDevices.Of(mode))
            {
                yield return DiskDevices.WireName(d);
                if (DiskDevices.CompletesAsynchronously(d))
                    yield return DiskDevices.WireName(d) + (mode == VirtualizationMode.Full ? "+irq" : "+event");
            }
        }
    }

    [ParamsSource(nameof(Devices))]
    public string Device { get; set; } = "ata-pio";

    /// <inheritdoc/>
    public string CaseKey
    {
        get
        {
            (DiskInterface disk, DiskCompletion completion) = Parse(Device);
            return $"{Workload}/{DiskInterfaces.ModeOf(disk)}/{DiskDevices.WireName(disk)}/{completion}";
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        if (!WorkloadRunner.IsAvailable(out string reason))
            throw new InvalidOperationException($"KVM is not usable here: {reason}");
        _workload = WorkloadCatalog.Find(Workload) ?? throw new InvalidOperationException($"unknown workload {Workload}");
        (_disk, _completion) = Parse(Device);
    }

    [Benchmark(Description = "block workload run (quick)")]
    public WorkloadResult Run()
    {
        WorkloadResult result = _runner.Run(_workload, DiskInterfaces.ModeOf(_disk), new WorkloadRunOptions { Quick = true, DiskInterface = _disk, Completion = _completion });
        if (!result.Verified)
            throw new InvalidOperationException($"{Workload} on {Device} did not verify: {result.Failure}");
        WorkloadMeasurements.Record(result);
        return result;
    }

    private static (DiskInterface, DiskCompletion) Parse(string device)
    {
        int plus = device.IndexOf('+');
        string name = plus < 0 ? device : device[..plus];
        if (!DiskDevices.TryParse(name, out DiskInterface disk))
            throw new InvalidOperationException($"unknown device {device}");
        return (disk, plus < 0 ? DiskCompletion.Poll : DiskCompletion.Interrupt);
    }
}
