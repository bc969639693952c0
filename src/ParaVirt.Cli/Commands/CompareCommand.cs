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
/// <c>paravirt compare</c>: runs each workload in full and in para mode on an engine and prints exits
/// per operation by reason, time per operation, throughput and the para speed-up; a user's own image
/// pair (<see cref="CompareImages"/>), the markdown and plot files (<see cref="CompareOutputs"/>) and
/// the progress display (<see cref="CompareProgress"/>) live in their own files.
/// </summary>
internal static class CompareCommand
{
    public static readonly string Help = $"""
        usage: paravirt compare [--workload NAME]... [--quick] [--operations N] [--engine NAME]
                                [--full-image A.pvimg --para-image B.pvimg]
                                [--json FILE] [--markdown FILE] [--plot FILE.png|FILE.svg]

        Runs each workload twice, in full virtualization (emulated legacy devices, one exit
        per register access) and in paravirtualization (hypercalls and virtio rings, one exit per
        batch), and prints a table: operations, exits per operation by reason, time per operation,
        throughput, and how many times faster para is. Exits and time are counted only inside the
        guest's measured loop (between its two marker hypercalls, docs/workloads.md).

          --workload NAME   run only this workload (repeatable); known: {string.Join(", ", WorkloadCatalog.All.Select(w => w.Name))}
          --quick           fewer operations per workload (seconds in total)
          --operations N    exactly N operations per workload (1 to 1000000000)
          --engine NAME     the engine (default {Engines.Default}; engines: {string.Join(", ", Engines.Names)})
          --full-image A.pvimg, --para-image B.pvimg
                            measure your own image pair instead of the workloads guest: both
                            images, and at least one --workload (any one-word name: the guest
                            gets "NAME OPERATIONS" as its command line; default {CompareImages.DefaultOperations} operations)
          --json FILE       also write the results as JSON to FILE
          --markdown FILE   also write the table as GitHub markdown, naming the host, to FILE
          --plot FILE       also draw exits/op and time/op, full against para per workload, on
                            log scales: FILE.svg, or FILE.png
        A live progress display goes to stderr on a terminal; plain lines when stderr is redirected
        or $CI is set.

        Exit code: 0 when every run verified; {ExitCodes.Failure} when a run did not verify; {ExitCodes.VmFailed} when a VM stopped
        abnormally; {ExitCodes.NoKvm} without KVM; {ExitCodes.BadImage} when an image is missing or invalid; {ExitCodes.CannotWrite} when an
        output file cannot be written; {ExitCodes.Usage} for a bad command line (an output file in a missing directory too).
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        Arguments parsed = Arguments.Parse("compare", args,
            valued: ["--workload", "--json", EngineOption.Flag, "--operations", "--full-image", "--para-image", CompareOutputs.MarkdownFlag, CompareOutputs.PlotFlag],
            switches: ["--quick"]);
        if (parsed.Positional.Count > 0)
            throw Arguments.Usage("compare", $"unexpected argument '{parsed.Positional[0]}'");
        CompareImages images = CompareImages.FromArguments(parsed);
        List<WorkloadDefinition> workloads = images.IsUserPair ? images.Workloads(parsed.All("--workload")) : Select(parsed.All("--workload"));
        string? jsonPath = parsed.Value("--json");
        if (jsonPath is { Length: 0 })
            throw Arguments.Usage("compare", "option '--json' needs a file name");
        if (jsonPath is not null && Directory.Exists(jsonPath))
            throw new CliException($"--json: '{jsonPath}' is a directory", ExitCodes.Usage);
        if (jsonPath is not null && Path.GetDirectoryName(Path.GetFullPath(jsonPath)) is { } jsonDirectory && !Directory.Exists(jsonDirectory))
            throw new CliException($"--json: the directory '{jsonDirectory}' does not exist", ExitCodes.Usage);
        CompareOutputs outputs = CompareOutputs.FromArguments(parsed);
        bool quick = parsed.Has("--quick");
        long? operations = parsed.Value("--operations") is null ? null : (long)parsed.Number("--operations", 0, 1, 1e9);
        string engine = EngineOption.Resolve(parsed, "compare");

        EngineOption.RequireAvailable(engine);
        images.Check();

        string machine = MachineInfo.Describe();
        var runner = new WorkloadRunner(engine);
        List<WorkloadResult> results = CompareProgress.Run(workloads, [VirtualizationMode.Full, VirtualizationMode.Para], (workload, mode) =>
        {
            try
            {
                return runner.Run(workload, mode, new WorkloadRunOptions { Quick = quick, Operations = operations, ImagePath = images.For(mode) });
            }
            catch (WorkloadException ex)
            {
                throw new CliException(ex.Message, ExitCodes.BadImage);
            }
        });

        WriteTable(engine, machine, quick, results);
        if (jsonPath is not null)
        {
            try
            {
                CompareReport.Write(jsonPath, engine, machine, results);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot write '{jsonPath}': {ex.Message}", ExitCodes.CannotWrite);
            }
        }
        outputs.Write(engine, quick, results);

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
        table.AddColumn(new TableColumn("operations").RightAligned());
        table.AddColumn(new TableColumn("exits/op").RightAligned());
        table.AddColumn("exits/op by reason");
        table.AddColumn(new TableColumn("time/op").RightAligned());
        table.AddColumn(new TableColumn("throughput").RightAligned());
        table.AddColumn(new TableColumn("para speed-up").RightAligned());
        table.AddColumn("verified");
        foreach (WorkloadResult r in results)
        {
            WorkloadResult? full = r.Mode == VirtualizationMode.Para
                ? results.FirstOrDefault(x => x.Workload == r.Workload && x.Mode == VirtualizationMode.Full)
                : null;
            // A speed-up against a mode this host could not virtualize would compare nothing.
            string speedup = full is not null && r.NsPerOp > 0 && full.NsPerOp > 0
                ? full.HostLimitation is null && r.HostLimitation is null ? (full.NsPerOp / r.NsPerOp).ToString("F1", CultureInfo.InvariantCulture) + "x" : "n/a"
                : "";
            var byReason = new StringBuilder();
            foreach (KeyValuePair<string, long> pair in r.ExitsByReason)
                byReason.Append(byReason.Length > 0 ? ", " : "").Append(pair.Key).Append(' ').Append(CompareReport.PerOp(pair.Value, r.Operations));
            table.AddRow(
                Markup.Escape(r.Workload),
                CompareReport.ModeName(r.Mode),
                $"{r.Operations.ToString(CultureInfo.InvariantCulture)} × {Markup.Escape(r.OperationUnit)}",
                CompareReport.PerOp(r.Exits, r.Operations),
                Markup.Escape(byReason.Length == 0 ? "-" : byReason.ToString()),
                CompareReport.Duration(r.NsPerOp),
                CompareReport.Throughput(r.BytesPerSecond),
                speedup.Length == 0 ? "" : $"[bold]{speedup}[/]",
                !r.Verified ? "[red]NO[/]" : r.HostLimitation is null ? "[green]yes[/]" : "[yellow]not here (1)[/]");
        }
        console.Write(table);
        foreach (WorkloadResult r in results.Where(r => r.HostLimitation is not null))
            console.MarkupLine($"[yellow](1)[/] {Markup.Escape(r.Workload)} ({CompareReport.ModeName(r.Mode)}): {Markup.Escape(r.HostLimitation!)}. `paravirt info` lists what this host's probe found.");
    }
}
