using System;
using System.Collections.Generic;
using System.Diagnostics;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads;

/// <summary>
/// The host side of the guest's measurement markers: hypercalls
/// <see cref="WorkloadProtocol.MeasureStartHypercall"/> and <see cref="WorkloadProtocol.MeasureStopHypercall"/>
/// snapshot the VM's exit counters and the clock. The window's exits are the difference minus the
/// stop marker's own exit (the start marker's exit is already in the first snapshot), so only the
/// exits the workload's loop caused are counted. Snapshots copy into preallocated arrays: nothing
/// is allocated on the vCPU thread.
/// </summary>
/// <example><code>
/// var window = new MeasurementWindow();
/// window.Register(vm);
/// vm.Run(timeout);
/// if (window.IsComplete) Console.WriteLine($"{window.Exits} exits in {window.Elapsed}");
/// </code></example>
public sealed class MeasurementWindow
{
    private static readonly ExitReason[] Reasons = Enum.GetValues<ExitReason>();
    private readonly long[] _atStart = new long[Reasons.Length];
    private readonly long[] _atStop = new long[Reasons.Length];
    private long _startTicks, _stopTicks;

    /// <summary>Whether the guest opened the window.</summary>
    public bool Started { get; private set; }

    /// <summary>Whether the guest opened and then closed the window.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>The operation count the guest announced at the start.</summary>
    public long AnnouncedOperations { get; private set; }

    /// <summary>The operation count the guest reported at the stop.</summary>
    public long ReportedOperations { get; private set; }

    /// <summary>Registers the two marker hypercalls in <paramref name="vm"/>'s table.</summary>
    public void Register(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        vm.Hypercalls.Register(WorkloadProtocol.MeasureStartHypercall, "measure-start", OnStart);
        vm.Hypercalls.Register(WorkloadProtocol.MeasureStopHypercall, "measure-stop", OnStop);
    }

    /// <summary>Wall time between the markers.</summary>
    public TimeSpan Elapsed => IsComplete ? Stopwatch.GetElapsedTime(_startTicks, _stopTicks) : TimeSpan.Zero;

    /// <summary>Exits inside the window.</summary>
    public long Exits
    {
        get
        {
            long total = 0;
            for (int i = 0; i < Reasons.Length; i++)
                total += Count(i);
            return total;
        }
    }

    /// <summary>Exits inside the window by reason (non-zero only).</summary>
    public IReadOnlyDictionary<string, long> ExitsByReason()
    {
        var result = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < Reasons.Length; i++)
        {
            long n = Count(i);
            if (n != 0)
                result[Reasons[i].ToString()] = n;
        }
        return result;
    }

    private long Count(int index)
    {
        if (!IsComplete)
            return 0;
        long n = _atStop[index] - _atStart[index];
        // The stop marker's own exit is not the workload's. A guest that issues both markers inside
        // one multicall makes no exit for the stop marker: never count below zero.
        if (Reasons[index] == ExitReason.Hypercall && n > 0)
            n--;
        return n;
    }

    private long OnStart(VirtualMachine vm, in HypercallArgs args)
    {
        if (Started)
            return (long)HypercallStatus.NotPermitted;
        Snapshot(vm.Exits, _atStart);
        AnnouncedOperations = (long)Math.Min(args.Arg0, long.MaxValue);
        Started = true;
        _startTicks = Stopwatch.GetTimestamp();
        return 0;
    }

    private long OnStop(VirtualMachine vm, in HypercallArgs args)
    {
        long now = Stopwatch.GetTimestamp();
        if (!Started || IsComplete)
            return (long)HypercallStatus.NotPermitted;
        _stopTicks = now;
        Snapshot(vm.Exits, _atStop);
        ReportedOperations = (long)Math.Min(args.Arg0, long.MaxValue);
        IsComplete = true;
        return 0;
    }

    private static void Snapshot(ExitStatistics exits, long[] into)
    {
        for (int i = 0; i < Reasons.Length; i++)
            into[i] = exits[Reasons[i]];
    }
}
