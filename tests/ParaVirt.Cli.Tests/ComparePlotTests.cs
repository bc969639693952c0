using System.IO;
using ParaVirt.Cli.Commands;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Tests;

/// <summary>
/// <c>paravirt compare --plot</c> draws every result: a block workload ran on every disk of each mode
/// (ata-pio, ide-dma, nvme; virtio-blk, virtio-blk-async; with <c>--completion both</c> also
/// interrupt-completed), and each of those runs is a bar named under it, in both panels. Drawn from
/// made-up results: no KVM needed.
/// </summary>
public sealed class ComparePlotTests
{
    private static readonly HostDescription Host = new("Test CPU", 2, "6.8.0", "kvm_amd, kvm", "kvm", new DateTime(2026, 11, 30), null);

    private static WorkloadResult Result(string workload, VirtualizationMode mode, string? device, long exits, double nsPerOp) =>
        new(workload, mode, 256, "4 KiB request", exits, new Dictionary<string, long> { ["PortIo"] = exits }, nsPerOp * 256 / 1e9, nsPerOp, 0, Verified: true) { Device = device };

    /// <summary>console in each mode; blk-read on the five disks, each with its own exits/op and time/op; results in the order compare runs them (interleaved modes on purpose).</summary>
    private static readonly WorkloadResult[] Results =
    [
        Result("console", VirtualizationMode.Full, null, 256 * 17 / 16, 900),
        Result("console", VirtualizationMode.Para, null, 1, 3),
        Result("blk-read", VirtualizationMode.Full, "ata-pio", 256 * 1030, 2_000_000),
        Result("blk-read", VirtualizationMode.Para, "virtio-blk", 256, 9_000),
        Result("blk-read", VirtualizationMode.Full, "ide-dma", 256 * 7, 60_000),
        Result("blk-read", VirtualizationMode.Full, "nvme", 256 * 3, 40_000),
        Result("blk-read", VirtualizationMode.Full, "ide-dma", 256 * 13, 50_000) with { Completion = DiskCompletion.Interrupt },
        Result("blk-read", VirtualizationMode.Para, "virtio-blk-async", 128, 7_000),
    ];

    [Test]
    public void EveryResultIsABarAndEveryDeviceIsNamedUnderItsBar()
    {
        ComparePlotLayout layout = ComparePlotLayout.Of(Results);
        Assert.That(layout.Bars.Select(b => (b.Result.Workload, b.Result.Device, b.Position)), Is.EqualTo(new (string, string?, double)[]
        {
            ("console", null, 0), ("console", null, 1),
            // full devices first, then para, each mode in the results' order; a gap before blk-read
            ("blk-read", "ata-pio", 3), ("blk-read", "ide-dma", 4), ("blk-read", "nvme", 5), ("blk-read", "ide-dma", 6),
            ("blk-read", "virtio-blk", 7), ("blk-read", "virtio-blk-async", 8),
        }));
        Assert.That(layout.Bars.Select(b => b.Result.Mode), Is.EqualTo(new[]
        {
            VirtualizationMode.Full, VirtualizationMode.Para,
            VirtualizationMode.Full, VirtualizationMode.Full, VirtualizationMode.Full, VirtualizationMode.Full, VirtualizationMode.Para, VirtualizationMode.Para,
        }));
        Assert.That(layout.Ticks.Select(t => (t.Position, t.Label)), Is.EquivalentTo(new (double, string)[]
        {
            (0.5, "\n\nconsole"),
            // devices on the first and second line by turns, workloads on the third
            // (the interrupt-completed IDE DMA run is named as compare's table names it)
            (3, "ata-pio"), (4, "\nide-dma"), (5, "nvme"), (6, "\nide-dma+irq"), (7, "virtio-blk"), (8, "\nvirtio-blk-async"),
            (5.5, "\n\nblk-read"),
        }));
        Assert.That(layout.Right, Is.EqualTo(8));
    }

    [Test]
    public void WithoutADeviceTheWorkloadsAreNamedOnTheFirstLine()
    {
        ComparePlotLayout layout = ComparePlotLayout.Of(Results[..2]);
        Assert.That(layout.Ticks.Select(t => (t.Position, t.Label)), Is.EqualTo(new (double, string)[] { (0.5, "console") }));
        Assert.That(layout.Bars.Select(b => b.Position), Is.EqualTo(new double[] { 0, 1 }));
    }

    [Test]
    public void TheSvgShowsEveryDeviceAndEveryBarsValueInBothPanels()
    {
        string path = Path.Combine(Path.GetTempPath(), $"paravirt-plot-{Guid.NewGuid():N}.svg");
        try
        {
            ComparePlot.Write(path, Host, Results);
            List<string> texts = Texts(File.ReadAllText(path));
            // ScottPlot may draw a panel more than once into the SVG (a second layout pass): count per drawn panel.
            int panels = texts.Count(t => t is "exits per operation (log scale)" or "time per operation (log scale)");
            Assert.That(panels, Is.GreaterThanOrEqualTo(2), "both panels are drawn");
            Assert.Multiple(() =>
            {
                foreach (string device in new[] { "ata-pio", "ide-dma", "nvme", "ide-dma+irq", "virtio-blk", "virtio-blk-async" })
                    Assert.That(texts.Count(t => t == device), Is.EqualTo(panels), $"{device} is named under its bar in each panel");
                Assert.That(texts.Count(t => t == "blk-read"), Is.EqualTo(panels), "the workload is named once per panel, under its bars");
                foreach (WorkloadResult r in Results)
                {
                    Assert.That(texts, Does.Contain(CompareReport.PerOp(r.Exits, r.Operations)), $"{r.Workload} {r.Device}: its exits/op on its bar");
                    Assert.That(texts, Does.Contain(CompareReport.Duration(r.NsPerOp)), $"{r.Workload} {r.Device}: its time/op on its bar");
                }
                Assert.That(texts, Has.Some.StartsWith("measured on Test CPU, 2 cores"));
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The text of every &lt;text&gt; element of an SVG that SkiaSharp wrote (one element per label line), trimmed and decoded.</summary>
    private static List<string> Texts(string svg) =>
        System.Text.RegularExpressions.Regex.Matches(svg, @"<text[^>]*>(.*?)</text>", System.Text.RegularExpressions.RegexOptions.Singleline)
            .Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[1].Value).Trim()).ToList();
}
