using System;
using System.Collections.Generic;
using System.Linq;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;
using Spectre.Console;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// What <c>paravirt compare</c> shows while its workloads run, on stderr: on a terminal a live
/// display (one line per run with a spinner, its elapsed time and its outcome, and an overall bar);
/// when stderr is redirected, <c>$CI</c> is set or <c>TERM=dumb</c>, one plain line per run
/// (<c>paravirt: running blk-write (full)... ok</c>), so logs stay readable.
/// </summary>
internal static class CompareProgress
{
    /// <summary>Runs every workload in every mode, in order, and returns the results in that order.</summary>
    public static List<WorkloadResult> Run(IReadOnlyList<WorkloadDefinition> workloads, IReadOnlyList<VirtualizationMode> modes, Func<WorkloadDefinition, VirtualizationMode, WorkloadResult> run)
    {
        var steps = workloads.SelectMany(w => modes.Select(m => (Workload: w, Mode: m))).ToList();
        return IsLive() ? RunLive(steps, run) : RunPlain(steps, run);
    }

    /// <summary>Whether a live display fits: stderr is a terminal and nothing says this is a log.</summary>
    public static bool IsLive() =>
        !Console.IsErrorRedirected
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
        && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb");

    /// <summary>One word for a run's outcome.</summary>
    public static string Outcome(WorkloadResult result) =>
        !result.Verified ? $"FAILED: {result.Failure}" : result.HostLimitation is null ? "ok" : "not virtualizable on this host";

    private static List<WorkloadResult> RunPlain(List<(WorkloadDefinition Workload, VirtualizationMode Mode)> steps, Func<WorkloadDefinition, VirtualizationMode, WorkloadResult> run)
    {
        var results = new List<WorkloadResult>();
        foreach ((WorkloadDefinition workload, VirtualizationMode mode) in steps)
        {
            Console.Error.Write($"paravirt: running {workload.Name} ({CompareReport.ModeName(mode)})...");
            WorkloadResult result;
            try
            {
                result = run(workload, mode);
            }
            catch
            {
                Console.Error.WriteLine();
                throw;
            }
            Console.Error.WriteLine($" {Outcome(result)}");
            results.Add(result);
        }
        return results;
    }

    private static List<WorkloadResult> RunLive(List<(WorkloadDefinition Workload, VirtualizationMode Mode)> steps, Func<WorkloadDefinition, VirtualizationMode, WorkloadResult> run)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var results = new List<WorkloadResult>();
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new SpinnerColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                ProgressTask overall = context.AddTask($"[bold]compare[/] 0/{steps.Count}", maxValue: steps.Count);
                foreach ((WorkloadDefinition workload, VirtualizationMode mode) in steps)
                {
                    string label = $"{Markup.Escape(workload.Name)} ({CompareReport.ModeName(mode)})";
                    ProgressTask task = context.AddTask(label + " [grey]running[/]", maxValue: 1);
                    task.IsIndeterminate = true;
                    WorkloadResult result = run(workload, mode);
                    string colour = !result.Verified ? "red" : result.HostLimitation is null ? "green" : "yellow";
                    task.Description = $"{label} [{colour}]{Markup.Escape(Outcome(result))}[/] [grey]{CompareReport.PerOp(result.Exits, result.Operations)} exits/op, {CompareReport.Duration(result.NsPerOp)}/op[/]";
                    task.IsIndeterminate = false;
                    task.Value = 1;
                    task.StopTask();
                    results.Add(result);
                    overall.Increment(1);
                    overall.Description = $"[bold]compare[/] {results.Count}/{steps.Count}";
                }
            });
        return results;
    }
}
