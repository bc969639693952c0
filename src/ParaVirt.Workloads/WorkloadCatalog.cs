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
        "write 4 MiB in 4 KiB requests (full: ATA PIO, para: virtio-blk at queue depth 32)")
    {
        Disk = WorkloadDisk.Blank,
        HostCheck = WorkloadHostCheck.DiskHoldsPattern,
    };

    /// <summary><c>blk-read</c>: 4 MiB in 4 KiB requests, every sector verified by the guest.</summary>
    public static WorkloadDefinition BlockRead { get; } = new(
        "blk-read", "4 KiB request", 1024, 256, WorkloadProtocol.BlockRequestBytes,
        "read 4 MiB in 4 KiB requests and verify every sector (full: ATA PIO, para: virtio-blk at queue depth 32)")
    {
        Disk = WorkloadDisk.Pattern,
    };

    /// <summary>The I/O workloads, in table order.</summary>
    public static IReadOnlyList<WorkloadDefinition> IoWorkloads { get; } = [Console, BlockWrite, BlockRead];

    /// <summary>Para-only test workload: the guest builds a descriptor loop in its virtio-blk queue (not in <see cref="All"/>).</summary>
    public static WorkloadDefinition HostileDescriptorLoop { get; } = new(
        "hostile-desc-loop", "run", 1, 1, 0, "corrupt the virtqueue with a descriptor loop; expect NEEDS_RESET, then recover");

    /// <summary>Para-only test workload: the guest moves avail->idx 1000 ahead (not in <see cref="All"/>).</summary>
    public static WorkloadDefinition HostileAvailAhead { get; } = new(
        "hostile-avail-ahead", "run", 1, 1, 0, "corrupt the virtqueue with avail->idx far ahead; expect NEEDS_RESET, then recover");

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
