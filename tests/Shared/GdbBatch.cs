using System.Diagnostics;
using System.IO;
using System.Text;

namespace ParaVirt.Tests.Shared;

/// <summary>
/// Runs Debian's gdb in batch mode for tests. When gdb is not installed the test is ignored with
/// the reason (.ci/run installs it).
/// </summary>
internal static class GdbBatch
{
    /// <summary>The gdb executable, or null when none is on the PATH.</summary>
    public static string? Path { get; } = Find();

    /// <summary>Ignores the current test when gdb is absent.</summary>
    public static void RequireGdb()
    {
        if (Path is null)
            Assert.Ignore("gdb is not installed (apt-get install gdb; .ci/run installs it)");
    }

    /// <summary>Runs <c>gdb -nx -batch</c> on <paramref name="elf"/> with one <c>-ex</c> per command; returns stdout and stderr together.</summary>
    public static string Run(string elf, int timeoutMs, params string[] commands)
    {
        RequireGdb();
        var start = new ProcessStartInfo(Path!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-nx", "-batch", "-ex", "set confirm off", "-ex", "set pagination off" })
            start.ArgumentList.Add(a);
        foreach (string c in commands)
        {
            start.ArgumentList.Add("-ex");
            start.ArgumentList.Add(c);
        }
        start.ArgumentList.Add(elf);
        using Process process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output)
                return output + "\n<gdb timed out>";
        }
        process.WaitForExit();
        lock (output)
            return output.ToString();
    }

    private static string? Find()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            if (dir.Length == 0)
                continue;
            string candidate = System.IO.Path.Combine(dir, "gdb");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
