using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// The disk device as a dimension of <c>paravirt compare</c>: which devices a workload runs on in a
/// mode, and the two speed-ups of a row: against full mode's baseline (ATA PIO for a block workload,
/// the full run otherwise) and against the best (fastest verified) full-mode device.
/// </summary>
internal static class CompareDevices
{
    /// <summary>The devices <paramref name="workload"/> runs on in <paramref name="mode"/>: every disk of the mode for a block workload, the default (null) otherwise.</summary>
    public static IReadOnlyList<DiskInterface?> For(WorkloadDefinition workload, VirtualizationMode mode) =>
        workload.Disk == WorkloadDisk.None ? [null] : DiskDevices.Of(mode).Select(d => (DiskInterface?)d).ToList();

    /// <summary>
    /// The steps of <paramref name="workload"/> in <paramref name="mode"/>: one per device, and with
    /// <paramref name="completions"/> holding <see cref="DiskCompletion.Interrupt"/> a second one on
    /// each device that completes asynchronously (a device that finishes inside the submitting exit
    /// has only polling).
    /// </summary>
    public static IEnumerable<CompareStep> Steps(WorkloadDefinition workload, VirtualizationMode mode, IReadOnlyList<DiskCompletion> completions)
    {
        if (workload.Disk == WorkloadDisk.None)
        {
            yield return new CompareStep(workload, mode, null); // no disk to wait for: one run whatever the completions
            yield break;
        }
        foreach (DiskInterface? disk in For(workload, mode))
            foreach (DiskCompletion completion in completions)
                if (completion == DiskCompletion.Poll || (disk is { } d && DiskDevices.CompletesAsynchronously(d)))
                    yield return new CompareStep(workload, mode, disk, completion);
    }

    /// <summary>The row's label for its device: the wire name, "+irq" when a full-mode guest waited for its IRQ, "+event" when a para guest blocked for its event; "-" for a workload without a disk.</summary>
    public static string Label(WorkloadResult r) => r.Device is null ? "-"
        : r.Completion == DiskCompletion.Interrupt ? r.Device + (r.Mode == VirtualizationMode.Full ? "+irq" : "+event")
        : r.Device;

    /// <summary>The JSON and option name of <paramref name="completion"/>: "poll" or "interrupt".</summary>
    public static string CompletionName(DiskCompletion completion) => completion == DiskCompletion.Interrupt ? "interrupt" : "poll";

    /// <summary>The completions <c>--completion poll|interrupt|both</c> selects.</summary>
    public static IReadOnlyList<DiskCompletion> ParseCompletions(string? value) => value switch
    {
        null or "poll" => [DiskCompletion.Poll],
        "interrupt" => [DiskCompletion.Interrupt],
        "both" => [DiskCompletion.Poll, DiskCompletion.Interrupt],
        _ => throw Arguments.Usage("compare", $"--completion takes poll, interrupt or both, not '{value}'"),
    };

    /// <summary>"12.3x": how many times faster <paramref name="r"/> is than full mode's baseline of its workload; "" for the baseline itself or without one; "n/a" across a host limitation.</summary>
    public static string VsBaseline(WorkloadResult r, IReadOnlyList<WorkloadResult> all)
    {
        WorkloadResult? baseline = all.FirstOrDefault(x => x.Workload == r.Workload && x.Mode == VirtualizationMode.Full
            && (x.Device is null || x.Device == DiskWireName.AtaPio));
        return Ratio(baseline, r);
    }

    /// <summary>How many times faster <paramref name="r"/> is than the fastest verified full-mode run of its workload.</summary>
    public static string VsBestFull(WorkloadResult r, IReadOnlyList<WorkloadResult> all)
    {
        WorkloadResult? best = all.Where(x => x.Workload == r.Workload && x.Mode == VirtualizationMode.Full && x.Verified && x.NsPerOp > 0)
            .OrderBy(x => x.NsPerOp).FirstOrDefault();
        return Ratio(best, r);
    }

    /// <summary>A device without a queue ran a queue-depth-n workload one request at a time.</summary>
    public static bool RanWithoutQueue(WorkloadResult r) =>
        r.Device is { } name && DiskDevices.TryParse(name, out DiskInterface disk) && !DiskDevices.HasQueue(disk)
        && WorkloadCatalog.Find(r.Workload) is { QueueDepth: > 1 };

    private static string Ratio(WorkloadResult? reference, WorkloadResult r)
    {
        if (reference is null || ReferenceEquals(reference, r) || reference.NsPerOp <= 0 || r.NsPerOp <= 0)
            return "";
        if (reference.HostLimitation is not null || r.HostLimitation is not null)
            return "n/a";
        return (reference.NsPerOp / r.NsPerOp).ToString("F1", CultureInfo.InvariantCulture) + "x";
    }
}
