using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;

namespace ParaVirt.Packages.Tests;

/// <summary>What one child process produced.</summary>
internal sealed record ToolResult(string Command, int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"{Command}\nexit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs child processes (dotnet, the installed tool, a built host program) with a clean environment.</summary>
internal static class Tool
{
    /// <summary>The dotnet host running these tests.</summary>
    public static string Dotnet
    {
        get
        {
            string? self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }

    /// <summary>
    /// Runs <paramref name="program"/> in <paramref name="workingDirectory"/> with
    /// <paramref name="environment"/> added, and waits at most <paramref name="timeout"/>. MSBuild
    /// and compiler servers are off, so no child outlives the command holding its output open.
    /// </summary>
    public static ToolResult Run(string program, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        // The test host may carry MSBuild's variables (from `dotnet test`): a child build starts fresh.
        foreach (string key in new List<string>(info.Environment.Keys))
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key == "DOTNET_HOST_PATH" || key.StartsWith("VSTEST", StringComparison.Ordinal))
                info.Environment.Remove(key);
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["UseSharedCompilation"] = "false";
        info.Environment.Remove("PARAVIRT_DEBUG");
        foreach ((string key, string value) in environment)
            info.Environment[key] = value;
        string command = $"{Path.GetFileName(program)} {string.Join(' ', args)}";
        TestContext.Progress.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {command}");
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{command} did not finish within {timeout.TotalMinutes} min\n{stdout.GetAwaiter().GetResult()}\n{stderr.GetAwaiter().GetResult()}");
        }
        process.WaitForExit();
        TestContext.Progress.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}]   exit {process.ExitCode} after {watch.Elapsed.TotalSeconds:F0} s");
        return new ToolResult(command, process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
