using System;
using System.Collections.Generic;
using System.IO;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// The files <c>paravirt compare</c> writes besides its table and the JSON: <c>--markdown FILE</c>
/// (<see cref="CompareMarkdown"/>) and <c>--plot FILE.png|FILE.svg</c> (<see cref="ComparePlot"/>).
/// Their paths are checked before anything runs (a missing directory, a directory, an unknown plot
/// extension: one line, <see cref="ExitCodes.Usage"/>); a write that fails afterwards is one line
/// with <see cref="ExitCodes.CannotWrite"/>.
/// </summary>
internal sealed class CompareOutputs
{
    public const string MarkdownFlag = "--markdown";
    public const string PlotFlag = "--plot";

    private readonly string? _markdown, _plot;

    private CompareOutputs(string? markdown, string? plot)
    {
        _markdown = markdown;
        _plot = plot;
    }

    public static CompareOutputs FromArguments(Arguments parsed)
    {
        string? markdown = CheckPath(MarkdownFlag, parsed.Value(MarkdownFlag));
        string? plot = CheckPath(PlotFlag, parsed.Value(PlotFlag));
        if (plot is not null && ComparePlot.FormatOf(plot) is null)
            throw Arguments.Usage("compare", $"option '{PlotFlag}' writes a .png or a .svg file, not '{Path.GetFileName(plot)}'");
        return new CompareOutputs(markdown, plot);
    }

    /// <summary>Writes the files asked for.</summary>
    public void Write(string engine, bool quick, IReadOnlyList<WorkloadResult> results)
    {
        if (_markdown is not null)
            Guard(_markdown, () => File.WriteAllText(_markdown, CompareMarkdown.Render(HostDescription.Current(engine), quick, results)));
        if (_plot is not null)
            Guard(_plot, () => ComparePlot.Write(_plot, HostDescription.Current(engine), results));
    }

    private static string? CheckPath(string flag, string? path)
    {
        if (path is null)
            return null;
        if (path.Length == 0)
            throw Arguments.Usage("compare", $"option '{flag}' needs a file name");
        if (Directory.Exists(path))
            throw new CliException($"{flag}: '{path}' is a directory", ExitCodes.Usage);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } directory && !Directory.Exists(directory))
            throw new CliException($"{flag}: the directory '{directory}' does not exist", ExitCodes.Usage);
        return path;
    }

    private static void Guard(string path, Action write)
    {
        try
        {
            write();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot write '{path}': {ex.Message}", ExitCodes.CannotWrite);
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            throw new CliException($"cannot draw '{path}': SkiaSharp's native library is not usable here ({ex.GetBaseException().Message.ReplaceLineEndings(" ")}); --json and --markdown still work", ExitCodes.CannotWrite);
        }
    }
}
