using System;
using System.Collections.Generic;
using System.Linq;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// Where <see cref="ComparePlot"/> puts its bars: one bar per result, so a block workload shows every
/// device it ran on (ata-pio, ide-dma, nvme in full mode; virtio-blk, virtio-blk-async in para mode),
/// and with <c>--completion both</c> each interrupt-completed run beside the polled one
/// (<see cref="CompareDevices.Label"/>: "ide-dma+irq", "virtio-blk-async+event").
/// Workloads keep the order of their first result; within a workload the full bars come first, then
/// the para bars, each mode's devices in the results' order; one empty slot separates workloads.
/// The category axis has three lines: the device under each bar of a block workload, on the first
/// and second line by turns so that neighbouring names ("virtio-blk", "virtio-blk-async") do not
/// overlap, and on the third the workload's name centred under its bars (on the first line when no
/// result has a device).
/// </summary>
internal sealed class ComparePlotLayout
{
    /// <summary>A bar: its position on the category axis and the result it draws.</summary>
    public readonly record struct Slot(double Position, WorkloadResult Result);

    /// <summary>A label on the category axis.</summary>
    public readonly record struct Tick(double Position, string Label);

    private ComparePlotLayout(IReadOnlyList<Slot> bars, IReadOnlyList<Tick> ticks, double right)
    {
        Bars = bars;
        Ticks = ticks;
        Right = right;
    }

    /// <summary>Every result once, in drawing order.</summary>
    public IReadOnlyList<Slot> Bars { get; }

    /// <summary>The category axis' labels: device names on the first two lines, workload names on the third (leading line breaks place them).</summary>
    public IReadOnlyList<Tick> Ticks { get; }

    /// <summary>The last bar's position (0 without bars): the bars stand from 0 to here, gaps between workloads included.</summary>
    public double Right { get; }

    /// <summary>Lays out <paramref name="results"/>.</summary>
    public static ComparePlotLayout Of(IReadOnlyList<WorkloadResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var bars = new List<Slot>(results.Count);
        var ticks = new List<Tick>();
        double position = 0;
        string workloadLine = results.Any(r => r.Device is not null) ? "\n\n" : "";
        foreach (string workload in results.Select(r => r.Workload).Distinct(StringComparer.Ordinal))
        {
            double first = position;
            int devices = 0;
            foreach (VirtualizationMode mode in new[] { VirtualizationMode.Full, VirtualizationMode.Para })
            {
                foreach (WorkloadResult r in results.Where(r => r.Workload == workload && r.Mode == mode))
                {
                    bars.Add(new Slot(position, r));
                    if (r.Device is not null)
                        ticks.Add(new Tick(position, (devices++ % 2 == 0 ? "" : "\n") + CompareDevices.Label(r))); // "ide-dma", "ide-dma+irq"
                    position++;
                }
            }
            ticks.Add(new Tick((first + position - 1) / 2, workloadLine + workload));
            position++; // the gap before the next workload
        }
        return new ComparePlotLayout(bars, ticks, bars.Count == 0 ? 0 : bars[^1].Position);
    }
}
