using System.IO;
using System.Linq;
using System.Text.Json;
using ParaVirt.Core.Machine;
using ParaVirt.Cli;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>
/// <c>paravirt compare</c>'s engine option, a user's own image pair, the markdown and plot files,
/// and the plain progress lines of a redirected run.
/// </summary>
[NonParallelizable]
public sealed class CompareOutputsTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("paravirt-compare-outputs-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private static (int Code, string Out, string Err) Invoke(params string[] args) => InProcessCompare.Invoke(args);

    private static void AssertOneLine((int Code, string Out, string Err) result, int code, string message)
    {
        Assert.That(result.Code, Is.EqualTo(code), result.Err);
        string[] lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), result.Err);
        Assert.That(lines[0], Does.StartWith("paravirt: ").And.Contain(message));
        Assert.That(result.Err + result.Out, Does.Not.Contain("   at "), "no stack trace");
    }

    private static void RequireKvm()
    {
        if (!WorkloadRunner.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    [Test]
    public void APlotInAMissingDirectoryIsOneLineBeforeAnythingRuns() =>
        AssertOneLine(Invoke("--plot", "/nonexistent-dir-paravirt/plot.png"), ExitCodes.Usage, "--plot: the directory '/nonexistent-dir-paravirt' does not exist");

    [Test]
    public void AMarkdownFileInAMissingDirectoryIsOneLine() =>
        AssertOneLine(Invoke("--markdown", "/nonexistent-dir-paravirt/table.md"), ExitCodes.Usage, "--markdown: the directory '/nonexistent-dir-paravirt' does not exist");

    [Test]
    public void APlotThatIsNeitherPngNorSvgIsOneLine() =>
        AssertOneLine(Invoke("--plot", Path.Combine(_directory, "plot.pdf")), ExitCodes.Usage, "option '--plot' writes a .png or a .svg file, not 'plot.pdf'");

    [Test]
    public void AnUnknownEngineIsOneLine() =>
        AssertOneLine(Invoke("--engine", "bogus"), ExitCodes.Usage, "unknown engine 'bogus' (engines: kvm)");

    [TestCase("--full-image", "option '--full-image' needs '--para-image' too")]
    [TestCase("--para-image", "option '--para-image' needs '--full-image' too")]
    public void HalfAnImagePairIsOneLine(string flag, string message) =>
        AssertOneLine(Invoke(flag, "x.pvimg", "--workload", "loop"), ExitCodes.Usage, message);

    [Test]
    public void AnImagePairNeedsAWorkload() =>
        AssertOneLine(Invoke("--full-image", "a.pvimg", "--para-image", "b.pvimg"), ExitCodes.Usage, "an image pair needs at least one '--workload NAME'");

    [Test]
    public void AMissingUserImageIsOneLine()
    {
        RequireKvm();
        AssertOneLine(Invoke("--full-image", Path.Combine(_directory, "none.pvimg"), "--para-image", WorkloadImages.Find(ParaVirt.Core.Machine.VirtualizationMode.Para), "--workload", "loop"),
            ExitCodes.BadImage, $"image '{Path.Combine(_directory, "none.pvimg")}' not found");
    }

    [Test]
    public void AUserImagePairIsMeasuredFromItsOwnFilesWithTheSameMarkers()
    {
        RequireKvm();
        string full = Path.Combine(_directory, "mine-full.pvimg"), para = Path.Combine(_directory, "mine-para.pvimg"), json = Path.Combine(_directory, "r.json");
        File.Copy(WorkloadImages.Find(ParaVirt.Core.Machine.VirtualizationMode.Full), full);
        File.Copy(WorkloadImages.Find(ParaVirt.Core.Machine.VirtualizationMode.Para), para);
        (int code, _, string stderr) = Invoke("--full-image", full, "--para-image", para, "--workload", "console", "--operations", "512", "--json", json);
        Assert.That(code, Is.Zero, stderr);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement[] rows = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.That(rows.Select(r => (r.GetProperty("mode").GetString(), r.GetProperty("operations").GetInt64(), r.GetProperty("exits").GetInt64())),
            Is.EqualTo(new[] { ("full", 512L, 512L + 512 / 16), ("para", 512L, 1L) }), "the console's exact counts: 1 + 1/16 port I/O exits per byte; one notify");
    }

    [Test]
    public void AWorkloadTheUserImageDoesNotKnowFailsItsRowsWithTheGuestsExitCode()
    {
        RequireKvm();
        string full = WorkloadImages.Find(ParaVirt.Core.Machine.VirtualizationMode.Full), para = WorkloadImages.Find(ParaVirt.Core.Machine.VirtualizationMode.Para);
        (int code, _, string stderr) = Invoke("--full-image", full, "--para-image", para, "--workload", "my-loop", "--operations", "10");
        Assert.That(code, Is.EqualTo(ExitCodes.Failure), stderr);
        Assert.That(stderr, Does.Contain("paravirt: my-loop (full) failed: the guest exited with code 65 (the guest does not know the workload)"));
        Assert.That(stderr, Does.Contain("paravirt: running my-loop (para)... FAILED"), "plain progress lines when stderr is redirected");
    }

    [Test]
    public void MarkdownAndPlotFilesNameTheHostAndEveryRow()
    {
        RequireKvm();
        string markdown = Path.Combine(_directory, "table.md"), svg = Path.Combine(_directory, "plot.svg"), png = Path.Combine(_directory, "plot.png");
        (int code, _, string stderr) = Invoke("--quick", "--workload", "console", "--workload", "blk-read", "--markdown", markdown, "--plot", svg);
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stderr, Does.Contain("paravirt: running console (full)... ok\n"), "plain progress lines when stderr is redirected");
        string md = File.ReadAllText(markdown);
        string[] lines = md.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Does.StartWith("Measured with `paravirt compare --quick` on ")
                .And.Contain($"{Environment.ProcessorCount} cores, Linux {MachineInfo.KernelRelease()}, KVM modules {MachineInfo.KvmModules()}, engine kvm, {DateTime.UtcNow:yyyy-MM-dd}"));
            Assert.That(lines[0], Does.Contain(MachineInfo.CpuModel()));
            Assert.That(md, Does.Contain("| workload | mode | device | operations | exits/op | exits/op by reason | time/op | throughput | para speed-up | verified |\n|---|---|---|---:|"));
            Assert.That(md, Does.Contain("| console | full | - | 4096 × byte | 1.06 | PortIo 1.06 |"));
            Assert.That(md, Does.Contain("| console | para | - | 4096 × byte | 1/4096 | Hypercall 1/4096 |"));
            Assert.That(md, Does.Contain($"| blk-read | full | ata-pio | 256 × 4 KiB request | {HostFacts.AtaReadExitsPerRequest} | PortIo {HostFacts.AtaReadExitsPerRequest} |"));
            Assert.That(lines.Count(l => l.StartsWith("| console |", StringComparison.Ordinal) || l.StartsWith("| blk-read |", StringComparison.Ordinal)),
                Is.EqualTo(2 + DiskDevices.Of(VirtualizationMode.Full).Count + DiskDevices.Of(VirtualizationMode.Para).Count), "console in each mode, blk-read on every disk of each mode");
        });
        string plot = File.ReadAllText(svg);
        Assert.That(plot, Does.StartWith("<?xml").And.Contain("<svg"));
        Assert.That(plot, Does.Contain("exits per operation").And.Contain("time per operation").And.Contain("console").And.Contain("blk-read"));
        foreach (DiskInterface disk in DiskDevices.Of(VirtualizationMode.Full).Concat(DiskDevices.Of(VirtualizationMode.Para)))
            Assert.That(plot, Does.Contain(DiskDevices.WireName(disk)), "every device blk-read ran on is named under its bar");

        // The same run drawn as PNG: a real PNG (SkiaSharp's native library works headless here).
        (code, _, stderr) = Invoke("--quick", "--workload", "console", "--plot", png);
        Assert.That(code, Is.Zero, stderr);
        byte[] header = File.ReadAllBytes(png).Take(8).ToArray();
        Assert.That(header, Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
    }
}
