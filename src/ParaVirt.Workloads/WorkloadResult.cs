using System.Collections.Generic;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads;

/// <summary>
/// One measured run of a workload in one mode. Exits and time cover only the guest's measured loop
/// (between its two marker hypercalls, the markers excluded): exact and repeatable for the exits,
/// noisy for the time.
/// </summary>
/// <param name="Workload">The workload's name.</param>
/// <param name="Mode">Full or para.</param>
/// <param name="Operations">Operations in the loop.</param>
/// <param name="OperationUnit">What one operation is.</param>
/// <param name="Exits">Exits inside the window.</param>
/// <param name="ExitsByReason">Those exits by <see cref="ParaVirt.Core.Cpu.ExitReason"/> name (non-zero only).</param>
/// <param name="Seconds">Wall time of the window.</param>
/// <param name="NsPerOp">Seconds per operation, in nanoseconds.</param>
/// <param name="BytesPerSecond">Payload throughput (0 when the workload moves no payload).</param>
/// <param name="Verified">The guest exited 0 after a complete window and the host's check passed.</param>
/// <example><code>
/// WorkloadResult r = new WorkloadRunner().Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Para);
/// Console.WriteLine($"{r.ExitsPerOperation:F3} exits/op, {r.NsPerOp:F0} ns/op, verified {r.Verified}");
/// </code></example>
public sealed record WorkloadResult(
    string Workload,
    VirtualizationMode Mode,
    long Operations,
    string OperationUnit,
    long Exits,
    IReadOnlyDictionary<string, long> ExitsByReason,
    double Seconds,
    double NsPerOp,
    double BytesPerSecond,
    bool Verified)
{
    /// <summary>Why this host cannot virtualize what the workload measures in this mode (probed), or null; see <see cref="WorkloadDefinition.HostLimitation"/>.</summary>
    public string? HostLimitation { get; init; }

    /// <summary>The disk device the workload ran on (<see cref="DiskWireName"/>: "ata-pio", "ide-dma", ...), or null for a workload that does not use the disk.</summary>
    public string? Device { get; init; }

    /// <summary>How the guest waited for the disk, or null for a workload that does not use the disk.</summary>
    public DiskCompletion? Completion { get; init; }

    /// <summary>Exits per operation.</summary>
    public double ExitsPerOperation => Operations == 0 ? 0 : (double)Exits / Operations;

    /// <summary>The guest's exit code, or -1 when it did not shut down by itself.</summary>
    public int ExitCode { get; init; } = -1;

    /// <summary>How the VM stopped.</summary>
    public VmStopReason? Stop { get; init; }

    /// <summary>Why the run is not verified (null when it is).</summary>
    public string? Failure { get; init; }

    /// <summary>Console bytes the host received over the whole run.</summary>
    public long ConsoleBytes { get; init; }

    /// <summary>Exits over the whole run, boot and shutdown included.</summary>
    public long TotalExits { get; init; }

    /// <summary>The end of the guest's console output (diagnostics), at most 1 KiB.</summary>
    public string ConsoleTail { get; init; } = "";
}
