using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;
using ParaVirt.Workloads;
using Spectre.Console;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// <c>paravirt compare</c>: runs each workload in full and in para mode on KVM and prints exits per
/// operation by reason, time per operation, throughput and the para speed-up.
/// </summary>
internal static class CompareCommand
{
    public static readonly string Help = $"""
        usage: paravirt compare [--workload NAME]... [--json FILE] [--quick]

        Runs each workload twice on KVM, in full virtualization (emulated legacy devices, one exit
        per register access) and in paravirtualization (hypercalls and virtio rings, one exit per
        batch), and prints a table: operations, exits per operation by reason, time per operation,
        throughput, and how many times faster para is. Exits and time are counted only inside the
        guest's measured loop (between its two marker hypercalls). A block workload runs on every
        disk device of each mode (full: ata-pio, ide-dma, nvme; para: virtio-blk, virtio-blk-async;
        a device not built yet is skipped), and each row shows its speed-up against full mode's
        ATA PIO and against the best full-mode device.

          --workload NAME   run only this workload (repeatable); known: {string.Join(", ", WorkloadCatalog.All.Select(w => w.Name))}
          --json FILE       also write the results as JSON to FILE
          --quick           fewer operations per workload (seconds in total)

        Exit code: 0 when every run verified; {ExitCodes.Failure} when a run did not verify; {ExitCodes.VmFailed} when a VM stopped
        abnormally; {ExitCodes.NoKvm} without KVM; {ExitCodes.BadImage} when the workload images are missing; {ExitCodes.Usage} for a bad command line.
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        Arguments parsed = Arguments.Parse("compare", args, valued: ["--workload", "--json"], switches: ["--quick"]);
        if (parsed.Positional.Count > 0)
            throw Arguments.Usage("compare", $"unexpected argument '{parsed.Positional[0]}'");
        List<WorkloadDefinition> workloads = Select(parsed.All("--workload"));
        string? jsonPath = parsed.Value("--json");
        if (jsonPath is { Length: 0 })
            throw Arguments.Usage("compare", "option '--json' needs a file name");
        if (jsonPath is not null && Directory.Exists(jsonPath))
            throw new CliException($"--json: '{jsonPath}' is a directory", ExitCodes.Usage);
        if (jsonPath is not null && Path.GetDirectoryName(Path.GetFullPath(jsonPath)) is { } jsonDirectory && !Directory.Exists(jsonDirectory))
            throw new CliException($"--json: the directory '{jsonDirectory}' does not exist", ExitCodes.Usage);
        bool quick = parsed.Has("--quick");

        RunCommand.RequireKvm();
        foreach (VirtualizationMode mode in new[] { VirtualizationMode.Full, VirtualizationMode.Para })
        {
            try
            {
                WorkloadImages.Find(mode);
            }
            catch (WorkloadException ex)
            {
                throw new CliException(ex.Message, ExitCodes.BadImage);
            }
        }

        string engine = Engines.Default;
        string machine = MachineInfo.Describe();
        var runner = new WorkloadRunner();
        var results = new List<WorkloadResult>();
        foreach (WorkloadDefinition workload in workloads)
        {
            foreach (VirtualizationMode mode in new[] { VirtualizationMode.Full, VirtualizationMode.Para })
            {
                foreach (DiskInterface? disk in CompareDevices.For(workload, mode))
                {
                    string device = disk is { } d ? $", {DiskDevices.WireName(d)}" : "";
                    Console.Error.Write($"paravirt: running {workload.Name} ({CompareReport.ModeName(mode)}{device})...");
                    WorkloadResult result;
                    try
                    {
                        result = runner.Run(workload, mode, new WorkloadRunOptions { Quick = quick, DiskInterface = disk });
                    }
                    catch (WorkloadException ex)
                    {
                        Console.Error.WriteLine();
                        throw new CliException(ex.Message, ExitCodes.BadImage);
                    }
                    catch (NotSupportedException ex)
                    {
                        Console.Error.WriteLine($" skipped: {ex.Message}");
                        continue;
                    }
                    Console.Error.WriteLine(!result.Verified ? $" FAILED: {result.Failure}" : result.HostLimitation is null ? " ok" : " not virtualizable on this host");
                    results.Add(result);
                }
            }
        }

        WriteTable(engine, machine, quick, results);
        if (jsonPath is not null)
        {
            try
            {
                CompareReport.Write(jsonPath, engine, machine, results);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot write '{jsonPath}': {ex.Message}");
            }
        }

        List<WorkloadResult> failed = results.Where(r => !r.Verified).ToList();
        if (failed.Count == 0)
            return 0;
        foreach (WorkloadResult r in failed)
            Console.Error.WriteLine($"paravirt: {r.Workload} ({CompareReport.ModeName(r.Mode)}) failed: {r.Failure}");
        return failed.Any(r => r.Stop?.Kind != VmStopKind.GuestShutdown) ? ExitCodes.VmFailed : ExitCodes.Failure;
    }

    private static List<WorkloadDefinition> Select(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
            return WorkloadCatalog.All.ToList();
        var selected = new List<WorkloadDefinition>();
        foreach (string name in names)
        {
            WorkloadDefinition workload = WorkloadCatalog.Find(name)
                ?? throw Arguments.Usage("compare", $"unknown workload '{name}' (known: {string.Join(", ", WorkloadCatalog.All.Select(w => w.Name))})");
            if (!selected.Contains(workload))
                selected.Add(workload);
        }
        return selected;
    }

    private static void WriteTable(string engine, string machine, bool quick, IReadOnlyList<WorkloadResult> results)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected)
            console.Profile.Width = 200;
        console.MarkupLine($"[bold]ParaVirt compare[/]  engine [bold]{Markup.Escape(engine)}[/]  machine [bold]{Markup.Escape(machine)}[/]{(quick ? "  (quick)" : "")}");
        console.MarkupLine("[grey]exits and time inside the measured loop only; times are noisy on these machines, compare the ratios of one run[/]");
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("workload");
        table.AddColumn("mode");
        table.AddColumn("device");
        table.AddColumn(new TableColumn("operations").RightAligned());
        table.AddColumn(new TableColumn("exits/op").RightAligned());
        table.AddColumn("exits/op by reason");
        table.AddColumn(new TableColumn("time/op").RightAligned());
        table.AddColumn(new TableColumn("throughput").RightAligned());
        table.AddColumn(new TableColumn("vs full (ATA PIO)").RightAligned());
        table.AddColumn(new TableColumn("vs best full").RightAligned());
        table.AddColumn("verified");
        foreach (WorkloadResult r in results)
        {
            // A speed-up against a mode this host could not virtualize would compare nothing ("n/a").
            string speedup = CompareDevices.VsBaseline(r, results);
            string vsBest = CompareDevices.VsBestFull(r, results);
            var byReason = new StringBuilder();
            foreach (KeyValuePair<string, long> pair in r.ExitsByReason)
                byReason.Append(byReason.Length > 0 ? ", " : "").Append(pair.Key).Append(' ').Append(CompareReport.PerOp(pair.Value, r.Operations));
            table.AddRow(
                Markup.Escape(r.Workload),
                CompareReport.ModeName(r.Mode),
                Markup.Escape(CompareDevices.Label(r)) + (CompareDevices.RanWithoutQueue(r) ? " [grey](2)[/]" : ""),
                $"{r.Operations.ToString(CultureInfo.InvariantCulture)} × {Markup.Escape(r.OperationUnit)}",
                CompareReport.PerOp(r.Exits, r.Operations),
                Markup.Escape(byReason.Length == 0 ? "-" : byReason.ToString()),
                CompareReport.Duration(r.NsPerOp),
                CompareReport.Throughput(r.BytesPerSecond),
                speedup.Length == 0 ? "" : $"[bold]{speedup}[/]",
                vsBest,
                !r.Verified ? "[red]NO[/]" : r.HostLimitation is null ? "[green]yes[/]" : "[yellow]not here (1)[/]");
        }
        console.Write(table);
        foreach (WorkloadResult r in results.Where(r => r.HostLimitation is not null))
            console.MarkupLine($"[yellow](1)[/] {Markup.Escape(r.Workload)} ({CompareReport.ModeName(r.Mode)}): {Markup.Escape(r.HostLimitation!)}. `paravirt info` lists what this host's probe found.");
        if (results.Any(CompareDevices.RanWithoutQueue))
            console.MarkupLine("[grey](2)[/] a device without a queue (ATA PIO, IDE DMA) runs one request at a time: its queue-depth-32 rows ran at queue depth 1.");
    }
}
