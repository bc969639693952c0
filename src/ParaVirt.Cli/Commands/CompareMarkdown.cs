using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// <c>paravirt compare --markdown FILE</c>: the table as GitHub markdown, headed by the host it was
/// measured on (<see cref="HostDescription"/>), with the same columns as the terminal table and the
/// host limitations as footnotes. README's measured table is this file.
/// </summary>
internal static class CompareMarkdown
{
    public static string Render(HostDescription host, bool quick, IReadOnlyList<WorkloadResult> results)
    {
        var md = new StringBuilder();
        md.Append("Measured with `paravirt compare").Append(quick ? " --quick" : "").Append("` on ").Append(host).Append(".\n");
        md.Append("Exits and time inside the measured loop only; exit counts are exact, times are one run's.\n\n");
        md.Append("| workload | mode | device | operations | exits/op | exits/op by reason | time/op | throughput | para speed-up | verified |\n");
        md.Append("|---|---|---|---:|---:|---|---:|---:|---:|---|\n");
        foreach (WorkloadResult r in results)
        {
            string byReason = r.ExitsByReason.Count == 0 ? "-" : string.Join(", ", r.ExitsByReason.Select(p => $"{p.Key} {CompareReport.PerOp(p.Value, r.Operations)}"));
            string speedup = SpeedUp(results, r);
            string verified = !r.Verified ? "**no**" : r.HostLimitation is null ? "yes" : "not here (1)";
            md.Append("| ").Append(Cell(r.Workload))
              .Append(" | ").Append(CompareReport.ModeName(r.Mode))
              .Append(" | ").Append(Cell(CompareDevices.Label(r)))
              .Append(" | ").Append(r.Operations.ToString(CultureInfo.InvariantCulture)).Append(" × ").Append(Cell(r.OperationUnit))
              .Append(" | ").Append(CompareReport.PerOp(r.Exits, r.Operations))
              .Append(" | ").Append(Cell(byReason))
              .Append(" | ").Append(CompareReport.Duration(r.NsPerOp))
              .Append(" | ").Append(CompareReport.Throughput(r.BytesPerSecond))
              .Append(" | ").Append(speedup.Length == 0 ? "" : $"**{speedup}**")
              .Append(" | ").Append(verified).Append(" |\n");
        }
        foreach (WorkloadResult r in results.Where(r => r.HostLimitation is not null))
            md.Append("\n(1) ").Append(Cell(r.Workload)).Append(" (").Append(CompareReport.ModeName(r.Mode)).Append("): ").Append(Cell(r.HostLimitation!)).Append('.');
        if (results.Any(r => r.HostLimitation is not null))
            md.Append('\n');
        return md.ToString();
    }

    /// <summary>Para's speed-up on a para row against the workload's first full row (ATA PIO for a disk workload) ("12.3x"), "n/a" against a mode this host could not virtualize, "" otherwise.</summary>
    public static string SpeedUp(IReadOnlyList<WorkloadResult> results, WorkloadResult r)
    {
        if (r.Mode != VirtualizationMode.Para)
            return "";
        WorkloadResult? full = results.FirstOrDefault(x => x.Workload == r.Workload && x.Mode == VirtualizationMode.Full);
        if (full is null || r.NsPerOp <= 0 || full.NsPerOp <= 0)
            return "";
        return full.HostLimitation is null && r.HostLimitation is null ? (full.NsPerOp / r.NsPerOp).ToString("F1", CultureInfo.InvariantCulture) + "x" : "n/a";
    }

    private static string Cell(string text) => text.Replace("|", "\\|", System.StringComparison.Ordinal).ReplaceLineEndings(" ");
}
