namespace ParaVirt.Benchmarks;

/// <summary>
/// A workload benchmark class: from its parameters it names the case its runs record under
/// (<see cref="WorkloadMeasurements.KeyOf"/>), so the exits and window-time columns find them.
/// </summary>
public interface IWorkloadCase
{
    /// <summary>The key the runs of the current parameters record under.</summary>
    string CaseKey { get; }
}
