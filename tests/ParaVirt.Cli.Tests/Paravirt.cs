using System.Diagnostics;
using System.IO;

namespace ParaVirt.Cli.Tests;

/// <summary>What one run of <c>paravirt</c> produced.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stderr's lines, without the final newline's empty line.</summary>
    public string[] StderrLines => Stderr.Length == 0 ? [] : Stderr.TrimEnd('\n').Split('\n');

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs the built <c>paravirt.dll</c> as a child process with <c>dotnet</c>.</summary>
internal static class Paravirt
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>paravirt.dll beside the tests (the project reference copies it with its runtimeconfig).</summary>
    public static string Dll => Path.Combine(TestContext.CurrentContext.TestDirectory, "paravirt.dll");

    /// <summary>The Hello guest image beside the tests.</summary>
    public static string HelloImage => Path.Combine(TestContext.CurrentContext.TestDirectory, "guests", "Hello.pvimg");

    /// <summary>The dotnet host running these tests (so the child uses the same runtime).</summary>
    public static string DotnetHost
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
                return host;
            string? self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }

    /// <summary>Runs <c>dotnet paravirt.dll args</c>.</summary>
    public static CliResult Run(params string[] args) => Start(DotnetHost, [Dll, .. args]);

    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/> and waits (at most a minute).</summary>
    public static CliResult Start(string program, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        info.Environment.Remove("PARAVIRT_DEBUG");
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"paravirt {string.Join(' ', args)} did not finish within {Timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>
    /// The error contract: the exit code, exactly one line on stderr starting with "paravirt: "
    /// and containing <paramref name="message"/>, and no stack trace anywhere.
    /// </summary>
    public static void AssertError(CliResult result, int exitCode, string message)
    {
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(exitCode), result.ToString());
            Assert.That(result.StderrLines, Has.Length.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.StartWith("paravirt: "), result.ToString());
            Assert.That(result.Stderr, Does.Contain(message), result.ToString());
            Assert.That(result.Stderr + result.Stdout, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(result.Stderr, Does.Not.Contain("internal error"), result.ToString());
        });
    }
}
