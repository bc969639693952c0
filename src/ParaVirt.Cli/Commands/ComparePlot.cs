using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;
using ScottPlot;
using SkiaSharp;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// <c>paravirt compare --plot FILE</c>: two panels drawn with ScottPlot, exits per operation above and
/// time per operation below, a bar per result (<see cref="ComparePlotLayout"/>): full and para bars
/// per workload, and for a block workload one per device of each mode, named under its bar; each
/// value printed on its bar.
/// The value axes are logarithmic (ticks at powers of ten): full and para differ by orders of
/// magnitude. A value of 0 (para cpuid makes no exit) is a stub at the bottom labelled "0". The
/// host (<see cref="HostDescription"/>) is named under the plot. PNG or SVG by the file's extension.
/// </summary>
internal static class ComparePlot
{
    private const int MinimumWidth = 1400, PanelHeight = 520;

    /// <summary>Pixels per slot of the category axis: room for a value label ("1/4096", "138.10 µs") over each bar.</summary>
    private const int SlotWidth = 64;
    private static readonly Color FullColour = Color.FromHex("#d95f02");
    private static readonly Color ParaColour = Color.FromHex("#1b9e77");

    /// <summary>"png", "svg", or null for an extension this does not draw.</summary>
    public static string? FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => "png",
        ".svg" => "svg",
        _ => null,
    };

    public static void Write(string path, HostDescription host, IReadOnlyList<WorkloadResult> results)
    {
        ComparePlotLayout layout = ComparePlotLayout.Of(results);
        Plot exits = Panel("exits per operation (log scale)", "exits / op", layout,
            r => r.Operations == 0 ? 0 : (double)r.Exits / r.Operations, r => CompareReport.PerOp(r.Exits, r.Operations));
        Plot time = Panel("time per operation (log scale)", "time / op", layout,
            r => r.NsPerOp, r => CompareReport.Duration(r.NsPerOp), TimePower);
        time.XLabel($"measured on {host}", size: 13);

        var multiplot = new Multiplot();
        multiplot.Reset(exits);
        multiplot.AddPlot(time);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        int height = 2 * PanelHeight;
        int width = Math.Max(MinimumWidth, 360 + (int)Math.Ceiling(layout.Right + 2) * SlotWidth); // + the axis and the legend
        if (FormatOf(path) == "png")
        {
            multiplot.SavePng(path, width, height);
            return;
        }
        using FileStream stream = File.Create(path);
        using (SKCanvas canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream))
            multiplot.Render(canvas, new PixelRect(0, width, height, 0));
    }

    private static Plot Panel(string title, string axis, ComparePlotLayout layout,
        Func<WorkloadResult, double> value, Func<WorkloadResult, string> label, Func<int, string>? tickLabel = null)
    {
        double[] positive = layout.Bars.Select(b => value(b.Result)).Where(v => v > 0 && double.IsFinite(v)).ToArray();
        int low = positive.Length == 0 ? 0 : (int)Math.Floor(Math.Log10(positive.Min())) - (positive.Min() == positive.Max() ? 1 : 0);
        int high = positive.Length == 0 ? 1 : (int)Math.Ceiling(Math.Log10(positive.Max()));
        if (high <= low)
            high = low + 1;

        var plot = new Plot();
        plot.Title(title, size: 16);
        plot.YLabel(axis, size: 13);
        var bars = new List<Bar>();
        foreach ((double position, WorkloadResult r) in layout.Bars)
        {
            double v = value(r);
            bool drawn = v > 0 && double.IsFinite(v);
            bars.Add(new Bar
            {
                Position = position,
                // Bars stand on 0 = 10^low (ScottPlot puts a negative bar's label below it,
                // out of sight); a zero is a thin stub labelled "0".
                ValueBase = 0,
                Value = drawn ? Math.Log10(v) - low : 0.02 * (high - low),
                FillColor = r.Mode == VirtualizationMode.Full ? FullColour : ParaColour,
                Label = !r.Verified ? "failed" : r.HostLimitation is not null ? "n/a here" : drawn ? label(r) : "0",
            });
        }
        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 11;

        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int e = low; e <= high; e++)
        {
            ticks.AddMajor(e - low, (tickLabel ?? Power)(e));
            if (e < high)
                for (int k = 2; k <= 9; k++)
                    ticks.AddMinor(e - low + Math.Log10(k));
        }
        plot.Axes.Left.TickGenerator = ticks;
        var names = new ScottPlot.TickGenerators.NumericManual();
        foreach ((double position, string name) in layout.Ticks)
            names.AddMajor(position, name);
        plot.Axes.Bottom.TickGenerator = names;
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.SetLimits(-0.8, layout.Right + 0.8, 0, (high - low) * 1.12);
        plot.Grid.XAxisStyle.MajorLineStyle.Width = 0;

        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "full (emulated devices)", FillColor = FullColour });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "para (hypercalls, virtio)", FillColor = ParaColour });
        plot.ShowLegend(Edge.Right); // beside the bars: inside, it would hide the labels of the tallest bars
        return plot;
    }

    /// <summary>10^e nanoseconds: 1 ns, 10 ns, 100 ns, 1 µs, ... 100 s, 1000 s.</summary>
    private static string TimePower(int e)
    {
        if (e < 0)
            return Power(e) + " ns";
        int unit = Math.Min(e / 3, 3);
        string number = Math.Pow(10, e - 3 * unit).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
        return number + unit switch { 0 => " ns", 1 => " µs", 2 => " ms", _ => " s" };
    }

    /// <summary>10^e as a plain number: 0.001, 0.01, 1, 10, 1000, 1e+06.</summary>
    private static string Power(int e) => e switch
    {
        >= 0 and <= 5 => Math.Pow(10, e).ToString("0", System.Globalization.CultureInfo.InvariantCulture),
        < 0 and >= -4 => Math.Pow(10, e).ToString("0.####", System.Globalization.CultureInfo.InvariantCulture),
        _ => "1e" + e.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
