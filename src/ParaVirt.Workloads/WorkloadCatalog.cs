using System;
using System.Collections.Generic;

namespace ParaVirt.Workloads;

/// <summary>
/// Every workload <c>paravirt compare</c> runs: the I/O workloads defined here, the CPU
/// workloads of <see cref="CpuWorkloadCatalog"/> and the memory workloads of <see cref="MemoryWorkloadCatalog"/>. Names are the guest's command-line words.
/// </summary>
/// <example><code>
/// foreach (WorkloadDefinition w in WorkloadCatalog.All) Console.WriteLine($"{w.Name}: {w.Description}");
/// WorkloadDefinition? blk = WorkloadCatalog.Find("blk-write");
/// </code></example>
public static class WorkloadCatalog
{
    /// <summary><c>console</c>: 64 KiB to the console, one operation per byte.</summary>
    public static WorkloadDefinition Console { get; } = new(
        "console", "byte", 64 * 1024, 4 * 1024, 1,
        "write 64 KiB to the console (full: 16550 UART, para: virtio-console)")
    {
        HostCheck = WorkloadHostCheck.ConsoleStream,
    };

    /// <summary><c>blk-write</c>: 4 MiB in 4 KiB requests.</summary>
    public static WorkloadDefinition BlockWrite { get; } = new(
        "blk-write", "4 KiB request", 1024, 32, WorkloadProtocol.BlockRequestBytes,
        "write 4 MiB in 4 KiB requests (full: one command per request, para: 32 requests in flight)")
    {
        Disk = WorkloadDisk.Blank,
        HostCheck = WorkloadHostCheck.DiskHoldsPattern,
        QueueDepth = 32,
    };

    /// <summary><c>blk-read</c>: 4 MiB in 4 KiB requests, every sector verified by the guest.</summary>
    public static WorkloadDefinition BlockRead { get; } = new(
        "blk-read", "4 KiB request", 1024, 256, WorkloadProtocol.BlockRequestBytes,
        "read 4 MiB in 4 KiB requests and verify every sector (full: one command per request, para: 32 requests in flight)")
    {
        Disk = WorkloadDisk.Pattern,
        QueueDepth = 32,
    };

    /// <summary><c>blk-randread</c>: random 4 KiB reads (<see cref="RandomRequests"/>) one at a time, every sector verified.</summary>
    public static WorkloadDefinition BlockRandomRead { get; } = new(
        "blk-randread", "4 KiB request", 1024, 256, WorkloadProtocol.BlockRequestBytes,
        "read 4 KiB blocks of a 4 MiB disk in random order, one request at a time (queue depth 1), and verify every sector")
    {
        Disk = WorkloadDisk.Pattern,
        QueueDepth = 1,
    };

    /// <summary><c>blk-randread-qd32</c>: <see cref="BlockRandomRead"/> with 32 requests in flight where the device has a queue.</summary>
    public static WorkloadDefinition BlockRandomReadQd32 { get; } = new(
        "blk-randread-qd32", "4 KiB request", 1024, 256, WorkloadProtocol.BlockRequestBytes,
        "blk-randread at queue depth 32 (devices without a queue, ATA PIO and IDE DMA, run it at queue depth 1)")
    {
        Disk = WorkloadDisk.Pattern,
        QueueDepth = 32,
    };

    /// <summary>The I/O workloads, in table order.</summary>
    public static IReadOnlyList<WorkloadDefinition> IoWorkloads { get; } = [Console, BlockWrite, BlockRead, BlockRandomRead, BlockRandomReadQd32];

    /// <summary>Para-only test workload: the guest builds a descriptor loop in its virtio-blk queue (not in <see cref="All"/>).</summary>
    public static WorkloadDefinition HostileDescriptorLoop { get; } = new(
        "hostile-desc-loop", "run", 1, 1, 0, "corrupt the virtqueue with a descriptor loop; expect NEEDS_RESET, then recover");

    /// <summary>Para-only test workload: the guest moves avail->idx 1000 ahead (not in <see cref="All"/>).</summary>
    public static WorkloadDefinition HostileAvailAhead { get; } = new(
        "hostile-avail-ahead", "run", 1, 1, 0, "corrupt the virtqueue with avail->idx far ahead; expect NEEDS_RESET, then recover");

    /// <summary>Full-only test workload (run with <c>disk=ide-dma</c>): the guest programs the bus master with hostile PRD tables and a request past the end of the disk; expects the defined statuses, then a verified read (not in <see cref="All"/>).</summary>
    public static WorkloadDefinition HostilePrd { get; } = new(
        "hostile-prd", "run", 512, 512, 0, "program IDE DMA with PRD tables outside RAM, without EOT, a region outside RAM, a read past the end; expect the defined statuses, then a good read")
    {
        Disk = WorkloadDisk.Pattern,
    };

    /// <summary>Full-only test workload (run with <c>disk=nvme</c>): the guest drives the NVMe controller with PRPs outside RAM, a reused command ID, a CQ head past the entries posted, doorbell values past the queue size and a doorbell of a queue that does not exist; expects the defined statuses and CSTS.CFS, a reset after each, then a verified read (not in <see cref="All"/>).</summary>
    public static WorkloadDefinition HostileNvme { get; } = new(
        "hostile-nvme", "run", 512, 512, 0, "drive NVMe with PRPs outside RAM, a reused command ID, phase confusion, doorbells past the queue size; expect the defined statuses and CSTS.CFS, then a good read")
    {
        Disk = WorkloadDisk.Pattern,
    };

    /// <summary>The I/O workloads followed by the CPU and the memory workloads.</summary>
    public static IReadOnlyList<WorkloadDefinition> All { get; } = Merge();

    /// <summary>The workload called <paramref name="name"/> (ordinal), or null.</summary>
    public static WorkloadDefinition? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (WorkloadDefinition w in All)
            if (string.Equals(w.Name, name, StringComparison.Ordinal))
                return w;
        return null;
    }

    private static WorkloadDefinition[] Merge()
    {
        var all = new List<WorkloadDefinition>(IoWorkloads);
        foreach (WorkloadDefinition w in CpuWorkloadCatalog.Definitions)
            if (!all.Exists(x => x.Name == w.Name))
                all.Add(w);
        foreach (WorkloadDefinition w in MemoryWorkloadCatalog.Definitions)
            if (!all.Exists(x => x.Name == w.Name))
                all.Add(w);
        return all.ToArray();
    }
}
