using System.Diagnostics;
using System.IO;
using ParaVirt.Kvm;

namespace ParaVirt.Cli.Tests;

/// <summary>
/// <c>paravirt run --timeout</c> bounds the run even when nobody reads stdout: the guest blocks on
/// console backpressure, the watchdog stops it anyway, and the summary counts the dropped bytes.
/// </summary>
public class ConsoleBackpressureTests
{
    /// <summary>The child gets this long before the test kills it; without the fix it never exits on its own.</summary>
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private static string Image(string mode) => Path.Combine(TestContext.CurrentContext.TestDirectory, "guests", $"Workloads.{mode}.pvimg");

    [Test]
    public void TheTimeoutStopsAGuestWhoseStdoutNobodyReads()
    {
        // Para mode: virtio-console fills the 64 KiB stdout pipe and the 1 MiB console pipe within
        // milliseconds (the UART of full mode, at two exits a byte, would not within 2 s here).
        if (!KvmHypervisor.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
        var info = new ProcessStartInfo(Paravirt.DotnetHost)
        {
            RedirectStandardOutput = true, // a pipe this test never reads: it fills after 64 KiB
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { Paravirt.Dll, "run", Image("Para"), "--mode", "para", "--cmdline", "console 1000000000", "--timeout", "2" })
            info.ArgumentList.Add(arg);
        info.Environment.Remove("PARAVIRT_DEBUG");
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        bool exited = process.WaitForExit(Generous);
        if (!exited)
            process.Kill(entireProcessTree: true);
        process.WaitForExit();
        string errors = stderr.GetAwaiter().GetResult();
        Assert.That(exited, Is.True, $"paravirt must exit on its own before the test's {Generous.TotalSeconds} s kill\n{errors}");
        Assert.Multiple(() =>
        {
            Assert.That(process.ExitCode, Is.EqualTo(ExitCodes.VmFailed), errors);
            Assert.That(errors, Does.Contain("-- Timeout: watchdog: the guest ran past its 2000 ms limit"));
            Assert.That(errors, Does.Contain("paravirt: the VM stopped: watchdog"));
            Assert.That(errors, Does.Match(@"console bytes dropped [1-9][0-9]* \(of [1-9][0-9]*: stdout was closed, or not read"));
        });
    }
}
