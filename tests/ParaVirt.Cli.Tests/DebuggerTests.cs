using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Linq;
using ParaVirt.Tests.Shared;
using ParaVirt.Vmm;

namespace ParaVirt.Cli.Tests;

/// <summary>
/// <c>paravirt run --gdb</c> with Debian's gdb in batch mode on the guest's debug ELF: breakpoints
/// on C# methods and lines, backtraces naming C# frames, registers, memory, step and next, in full
/// and para mode; and the symbolized backtrace <c>paravirt run</c> prints for a crashing guest.
/// </summary>
public class DebuggerTests
{
    private static string Guest(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "guests", name);

    [SetUp]
    public void RequireKvm()
    {
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Starts <c>paravirt run IMAGE --gdb PORT args</c>, runs gdb with <paramref name="commands"/>, and returns gdb's output and the run's.</summary>
    private static (string Gdb, CliResult Run) Debug(string image, string[] runArgs, params string[] commands)
    {
        GdbBatch.RequireGdb();
        int port = FreePort();
        var info = new ProcessStartInfo(Paravirt.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { Paravirt.Dll, "run", Guest(image), "--gdb", port.ToString(), "--timeout", "120" }.Concat(runArgs))
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = new StringBuilder();
        using var waiting = new ManualResetEventSlim();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (stderr)
                stderr.AppendLine(e.Data);
            if (e.Data.Contains("waiting for gdb", StringComparison.Ordinal))
                waiting.Set();
        };
        process.BeginErrorReadLine();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            Assert.That(waiting.Wait(TimeSpan.FromSeconds(60)), Is.True, $"paravirt did not start listening: {stderr}");
            var watch = Stopwatch.StartNew();
            string gdb = GdbBatch.Run(Guest(image + ".elf"), 120_000, [$"target remote :{port}", .. commands]);
            TestContext.Out.WriteLine($"gdb session: {watch.Elapsed.TotalMilliseconds:F0} ms\n{gdb}");
            Assert.That(process.WaitForExit(60_000), Is.True, "paravirt ends after the session");
            process.WaitForExit();
            lock (stderr)
                return (gdb, new CliResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.ToString()));
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }

    [TestCase("full")]
    [TestCase("para")]
    public void BreakOnAMethodByNameShowsCSharpFramesRegistersAndMemory(string mode)
    {
        (string gdb, CliResult run) = Debug("Hello.pvimg", ["--mode", mode],
            "break Hello_Hello_Crc32::Compute", "continue", "bt", "info registers rip rsp", "x/8xb $rdi", "continue");
        Assert.Multiple(() =>
        {
            Assert.That(gdb, Does.Match(@"Breakpoint 1 at 0x[0-9a-f]+: file .*Crc32\.cs, line \d+"));
            Assert.That(gdb, Does.Match(@"Breakpoint 1, Hello_Hello_Crc32__Compute \(.*\) at .*samples/Hello/Crc32\.cs:\d+"));
            Assert.That(gdb, Does.Match(@"#0 +Hello_Hello_Crc32__Compute .* at .*Crc32\.cs:\d+"), "bt frame 0");
            Assert.That(gdb, Does.Match(@"#1 +0x[0-9a-f]+ in Hello_Hello_Kernel__Main .* at .*Hello/Kernel\.cs:33"), "bt names the C# caller and its line");
            Assert.That(gdb, Does.Match(@"rip +0x[0-9a-f]+ +0x[0-9a-f]+ <Hello_Hello_Crc32__Compute(\+\d+)?>"));
            // The buffer Main filled with (i * 31 + 7) & 0xFF: the span's data pointer is in RDI.
            Assert.That(gdb, Does.Contain("0x07\t0x26\t0x45\t0x64\t0x83\t0xa2\t0xc1\t0xe0"));
            Assert.That(gdb, Does.Contain("exited normally"));
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Stdout, Does.Contain("crc32 = 0x5d1c4ee3 (ok)"));
        });
    }

    [TestCase("full")]
    [TestCase("para")]
    public void BreakOnAFileLineThenStepAndNextMoveAcrossCSharpLines(string mode)
    {
        (string gdb, CliResult run) = Debug("Hello.pvimg", ["--mode", mode],
            "break Kernel.cs:33", "continue", "step", "next", "next", "finish", "next", "kill");
        Assert.Multiple(() =>
        {
            Assert.That(gdb, Does.Match(@"Breakpoint 1, Hello_Hello_Kernel__Main .* at .*Kernel\.cs:33\n33\t +uint checksum = Crc32\.Compute\(buffer\);"));
            Assert.That(gdb, Does.Match(@"\nHello_Hello_Crc32__Compute \(.*\) at .*Crc32\.cs:\d+\n"), "step enters Compute");
            Assert.That(gdb, Does.Match(@"\n9\t +uint\[\] table = new uint\[256\];\n10\t +for \(uint n = 0; n < 256; n\+\+\)\n12\t"), "next moves across the lines of Compute");
            Assert.That(gdb, Does.Contain("Value returned is $1 = 1562136291"), "finish returns to Main with the CRC (0x5d1c4ee3)");
            Assert.That(gdb, Does.Match(@"\n36\t +Console\.Write"), "next moves to the next C# line of Main");
            Assert.That(run.Stderr, Does.Contain("killed by the debugger"), run.ToString());
        });
    }

    [Test]
    public void GdbSeesAFailFastAsSigabrtWithTheCSharpFrames()
    {
        (string gdb, CliResult run) = Debug("Crash.pvimg", [], "continue", "bt", "continue");
        Assert.Multiple(() =>
        {
            Assert.That(gdb, Does.Contain("Program received signal SIGABRT"));
            Assert.That(gdb, Does.Match(@"in Crash_Crash_Table__Read .* at .*Crash/Kernel\.cs:\d+"));
            Assert.That(gdb, Does.Match(@"in Crash_Crash_Table__Sum .* at .*Crash/Kernel\.cs:\d+"));
            Assert.That(gdb, Does.Contain("exited with code 0206"), "W86: exit code 134");
            Assert.That(run.ExitCode, Is.EqualTo(134));
        });
    }

    [Test]
    public void IndexOutOfRangePrintsASymbolizedBacktrace()
    {
        CliResult result = Paravirt.Run("run", Guest("Crash.pvimg"));
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(134), result.ToString());
            Assert.That(result.Stderr, Does.Contain("-- GuestShutdown: guest fail-fast: index out of range"));
            Assert.That(result.Stderr, Does.Contain("-- backtrace:"));
            Assert.That(result.Stderr, Does.Match(@"--   #\d +0x[0-9a-f]+ ParaVirt_Guest_Runtime_Internal_Runtime_GuestFailFast::Fail\+0x[0-9a-f]+ \(.*GuestFailFast\.cs:\d+\)"));
            Assert.That(result.Stderr, Does.Match(@"--   #\d +0x[0-9a-f]+ Crash_Crash_Table::Read\+0x[0-9a-f]+ \(.*samples/Crash/Kernel\.cs:\d+\)\n--   #\d +0x[0-9a-f]+ Crash_Crash_Table::Sum\+0x[0-9a-f]+ \(.*Kernel\.cs:\d+\)\n--   #\d +0x[0-9a-f]+ Crash_Crash_Kernel::Main\+0x[0-9a-f]+ \(.*Kernel\.cs:\d+\)"),
                "Read (a function without an RBP frame) and its callers, innermost first");
        });
    }

    [Test]
    public void AnUnhandledPageFaultPrintsTheFaultingCSharpLine()
    {
        CliResult result = Paravirt.Run("run", Guest("Crash.pvimg"), "--cmdline", "fault", "--mode", "para");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(70), result.ToString());
            Assert.That(result.Stderr, Does.Contain("UnhandledTrap"));
            Assert.That(result.Stderr, Does.Match(@"--   #0  0x[0-9a-f]+ Crash_Crash_Table::StoreThroughNull\+0x[0-9a-f]+ \(.*samples/Crash/Kernel\.cs:\d+\)\n--   #1  0x[0-9a-f]+ Crash_Crash_Kernel::Main"));
        });
    }
}
