using System.Collections.Concurrent;
using ParaVirt.Workloads;

namespace ParaVirt.Benchmarks;

/// <summary>
/// What the workload benchmarks' runs measured inside the guest's window, by case (workload, mode,
/// device and completion: <see cref="KeyOf(WorkloadResult)"/>): the exact exits per operation (the
/// same on every run, checked) and the window's time per operation (the last run's). Filled by
/// <see cref="WorkloadBenchmarks"/> and <see cref="DiskLadderBenchmarks"/>, read by the columns.
/// </summary>
public static class WorkloadMeasurements
{
    private static readonly ConcurrentDictionary<string, (double ExitsPerOp, double NsPerOp, bool Stable)> Results = new();

    /// <summary>The case a result belongs to: "blk-read/full/nvme/interrupt", "console/para/-/-".</summary>
    public static string KeyOf(WorkloadResult result) =>
        $"{result.Workload}/{result.Mode}/{result.Device ?? "-"}/{(result.Completion is { } c ? c.ToString() : "-")}";

    /// <summary>Records one run.</summary>
    public static void Record(WorkloadResult result)
    {
        Results.AddOrUpdate(KeyOf(result),
            _ => (result.ExitsPerOperation, result.NsPerOp, true),
            (_, old) => (result.ExitsPerOperation, result.NsPerOp, old.Stable && old.ExitsPerOp == result.ExitsPerOperation));
    }

    /// <summary>The recorded values for a case key, if any run recorded them.</summary>
    public static bool TryGet(string key, out double exitsPerOp, out double nsPerOp, out bool stable)
    {
        bool found = Results.TryGetValue(key, out var v);
        (exitsPerOp, nsPerOp, stable) = v;
        return found;
    }
}
