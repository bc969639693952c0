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
                                [--completion poll|interrupt|both]
                                [--full-image A.pvimg --para-image B.pvimg]
                                [--json FILE] [--markdown FILE] [--plot FILE.png|FILE.svg]

        Runs each workload twice, in full virtualization (emulated legacy devices, one exit
        per register access) and in paravirtualization (hypercalls and virtio rings, one exit per
        batch), and prints a table: operations, exits per operation by reason, time per operation,
        throughput, and how many times faster para is. Exits and time are counted only inside the
        guest's measured loop (between its two marker hypercalls, docs/workloads.md). A block workload
        runs on every disk device of each mode (full: ata-pio, ide-dma, nvme; para: virtio-blk,
        virtio-blk-async), and each row shows its speed-up against full mode's ATA PIO and against
        the best full-mode device.

          --workload NAME   run only this workload (repeatable); known: {string.Join(", ", WorkloadCatalog.All.Select(w => w.Name))}
          --quick           fewer operations per workload (seconds in total)
          --operations N    exactly N operations per workload (1 to 1000000000)
          --engine NAME     the engine (default {Engines.Default}; engines: {string.Join(", ", Engines.Names)})
          --completion poll|interrupt|both
                            how block workloads wait for a device that completes after the
                            submitting exit (ide-dma, nvme, virtio-blk-async): poll (default), or
                            asleep until its interrupt (full: IRQ through the virtual IDT, row
                            "+irq"; para: SchedOp(block) until the event, row "+event"), or both
          --full-image A.pvimg, --para-image B.pvimg
                            measure your own image pair instead of the workloads guest: both
                            images, and at least one --workload (any one-word name: the guest
                            gets "NAME OPERATIONS" as its command line; default {CompareImages.DefaultOperations} operations)
          --json FILE       also write the results as JSON to FILE
          --markdown FILE   also write the table as GitHub markdown, naming the host, to FILE
          --plot FILE       also draw exits/op and time/op, full against para per workload (a
                            bar per disk device of a block workload), on log scales: FILE.svg,
                            or FILE.png
        A live progress display goes to stderr on a terminal; plain lines when stderr is redirected
        or $CI is set.

        Exit code: 0 when every run verified; {ExitCodes.Failure} when a run did not verify; {ExitCodes.VmFailed} when a VM stopped
        abnormally; {ExitCodes.NoKvm} without KVM; {ExitCodes.BadImage} when an image is missing or invalid; {ExitCodes.CannotWrite} when an
        output file cannot be written; {ExitCodes.Usage} for a bad command line (an output file in a missing directory too).
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        Arguments parsed = Arguments.Parse("compare", args,
            valued: ["--workload", "--json", EngineOption.Flag, "--operations", "--full-image", "--para-image", CompareOutputs.MarkdownFlag, CompareOutputs.PlotFlag, "--completion"],
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
        IReadOnlyList<DiskCompletion> completions = CompareDevices.ParseCompletions(parsed.Value("--completion"));
        if (images.IsUserPair && parsed.Value("--completion") is not null)
            throw Arguments.Usage("compare", "--completion needs the workloads guest (a user image pair chooses its own completion)");

        EngineOption.RequireAvailable(engine);
        images.Check();

        string machine = MachineInfo.Describe();
        var runner = new WorkloadRunner(engine);
        List<CompareStep> steps = workloads
            .SelectMany(w => new[] { VirtualizationMode.Full, VirtualizationMode.Para }
                .SelectMany(m => images.IsUserPair ? NoDisk.Select(d => new CompareStep(w, m, d)) : CompareDevices.Steps(w, m, completions)))
            .ToList();
        List<WorkloadResult> results = CompareProgress.Run(steps, step =>
        {
            try
            {
                return runner.Run(step.Workload, step.Mode, new WorkloadRunOptions { Quick = quick, Operations = operations, ImagePath = images.For(step.Mode), DiskInterface = step.Disk, Completion = step.Completion });
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

    /// <summary>A user image pair's workloads run without choosing a disk device.</summary>
    private static readonly IReadOnlyList<DiskInterface?> NoDisk = [null];

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
