using System.Collections.Concurrent;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Benchmarks;

/// <summary>
/// What the workload benchmark's runs measured inside the guest's window, by (workload, mode): the
/// exact exits per operation (the same on every run, checked) and the window's time per operation
/// (the last run's). Filled by <see cref="WorkloadBenchmarks"/>, read by the columns.
/// </summary>
public static class WorkloadMeasurements
{
    private static readonly ConcurrentDictionary<(string, VirtualizationMode), (double ExitsPerOp, double NsPerOp, bool Stable)> Results = new();

    /// <summary>Records one run.</summary>
    public static void Record(WorkloadResult result)
    {
        Results.AddOrUpdate((result.Workload, result.Mode),
            _ => (result.ExitsPerOperation, result.NsPerOp, true),
            (_, old) => (result.ExitsPerOperation, result.NsPerOp, old.Stable && old.ExitsPerOp == result.ExitsPerOperation));
    }

    /// <summary>The recorded values for a case, if any run recorded them.</summary>
    public static bool TryGet(string workload, VirtualizationMode mode, out double exitsPerOp, out double nsPerOp, out bool stable)
    {
        bool found = Results.TryGetValue((workload, mode), out var v);
        (exitsPerOp, nsPerOp, stable) = v;
        return found;
    }
}
