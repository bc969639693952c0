using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;

namespace ParaVirt.Core.Diagnostics;

/// <summary>
/// The <c>ParaVirt</c> meter (System.Diagnostics.Metrics): exit and hypercall counters of every VM
/// in the process, for <c>dotnet-counters monitor --counters ParaVirt</c> or any MeterListener /
/// OpenTelemetry exporter (docs/metrics.md).
/// <list type="bullet">
/// <item><c>paravirt.vm.exits</c> (observable counter, <c>{exit}</c>, tag <c>reason</c>: an <see cref="ExitReason"/> name);</item>
/// <item><c>paravirt.vm.hypercalls</c> (observable counter, <c>{call}</c>, tag <c>hypercall</c>: the handler's name);</item>
/// <item><c>paravirt.vms</c> (observable up-down counter, <c>{vm}</c>): VMs created and not yet disposed.</item>
/// </list>
/// The instruments are observable: they read each VM's existing <see cref="ExitStatistics"/> and
/// <see cref="HypercallTable"/> counters only when a listener collects (on the listener's thread),
/// so the exit path does no extra work and allocates nothing for them. The counters are
/// cumulative over the process: a disposed VM's counts are kept.
/// </summary>
/// <example><code>
/// using var listener = new MeterListener();
/// listener.InstrumentPublished = (instrument, l) =&gt; { if (instrument.Meter.Name == ParaVirtMetrics.MeterName) l.EnableMeasurementEvents(instrument); };
/// listener.SetMeasurementEventCallback&lt;long&gt;((instrument, value, tags, _) =&gt; Console.WriteLine($"{instrument.Name} {tags[0].Value} {value}"));
/// listener.Start();
/// listener.RecordObservableInstruments();
/// </code></example>
public static class ParaVirtMetrics
{
    /// <summary>The meter's name, as dotnet-counters and listeners select it.</summary>
    public const string MeterName = "ParaVirt";

    /// <summary>Exits of every VM, by reason.</summary>
    public const string ExitsInstrument = "paravirt.vm.exits";

    /// <summary>Hypercalls of every VM, by handler name.</summary>
    public const string HypercallsInstrument = "paravirt.vm.hypercalls";

    /// <summary>VMs alive.</summary>
    public const string VmsInstrument = "paravirt.vms";

    private static readonly ExitReason[] s_reasons = Enum.GetValues<ExitReason>();
    private static readonly object s_gate = new();
    private static readonly List<VirtualMachine> s_live = [];
    private static readonly long[] s_retiredExits = new long[s_reasons.Length];
    private static readonly Dictionary<string, long> s_retiredHypercalls = new(StringComparer.Ordinal);

    // Created on first use of the class (the first VM), then kept for the process.
    private static readonly Meter s_meter = CreateMeter();

    private static Meter CreateMeter()
    {
        var meter = new Meter(MeterName, typeof(ParaVirtMetrics).Assembly.GetName().Version?.ToString());
        meter.CreateObservableCounter(ExitsInstrument, ObserveExits, unit: "{exit}", description: "VM exits by reason, every VM of the process");
        meter.CreateObservableCounter(HypercallsInstrument, ObserveHypercalls, unit: "{call}", description: "hypercalls by handler name, every VM of the process");
        meter.CreateObservableUpDownCounter(VmsInstrument, ObserveVms, unit: "{vm}", description: "VMs created and not yet disposed");
        return meter;
    }

    /// <summary>Counts <paramref name="vm"/> from now on (its constructor calls this).</summary>
    internal static void Track(VirtualMachine vm)
    {
        _ = s_meter;
        lock (s_gate)
            s_live.Add(vm);
    }

    /// <summary>Folds a disposed <paramref name="vm"/>'s counts into the retired totals (its release calls this, once, after its vCPU stopped).</summary>
    internal static void Retire(VirtualMachine vm)
    {
        lock (s_gate)
        {
            if (!s_live.Remove(vm))
                return;
            for (int i = 0; i < s_reasons.Length; i++)
                s_retiredExits[i] += vm.Exits[s_reasons[i]];
            foreach (HypercallStatistics call in vm.Hypercalls.GetStatistics())
                s_retiredHypercalls[call.Name] = s_retiredHypercalls.GetValueOrDefault(call.Name) + call.Calls;
        }
    }

    private static IEnumerable<Measurement<long>> ObserveExits()
    {
        var totals = new long[s_reasons.Length];
        lock (s_gate)
        {
            Array.Copy(s_retiredExits, totals, totals.Length);
            foreach (VirtualMachine vm in s_live)
                for (int i = 0; i < s_reasons.Length; i++)
                    totals[i] += vm.Exits[s_reasons[i]];
        }
        var measurements = new List<Measurement<long>>(s_reasons.Length);
        for (int i = 0; i < s_reasons.Length; i++)
            measurements.Add(new Measurement<long>(totals[i], new KeyValuePair<string, object?>("reason", s_reasons[i].ToString())));
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObserveHypercalls()
    {
        Dictionary<string, long> totals;
        lock (s_gate)
        {
            totals = new Dictionary<string, long>(s_retiredHypercalls, StringComparer.Ordinal);
            foreach (VirtualMachine vm in s_live)
                foreach (HypercallStatistics call in vm.Hypercalls.GetStatistics())
                    totals[call.Name] = totals.GetValueOrDefault(call.Name) + call.Calls;
        }
        var measurements = new List<Measurement<long>>(totals.Count);
        foreach ((string name, long calls) in totals)
            measurements.Add(new Measurement<long>(calls, new KeyValuePair<string, object?>("hypercall", name)));
        return measurements;
    }

    private static int ObserveVms()
    {
        lock (s_gate)
            return s_live.Count;
    }
}
