using Internal.Runtime;
using ParaVirt.Abi;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// The two marker hypercalls that bracket a workload's measured loop. The host counts exits and
/// time only between them, so device initialisation, boot and shutdown are not in the numbers.
/// Each marker is one hypercall exit; the host leaves both markers out of the window's count.
/// </summary>
/// <example><code>
/// Measurement.Start(operations);
/// for (long i = 0; i &lt; operations; i++) DoOne(i);
/// Measurement.Stop(operations);
/// </code></example>
internal static class Measurement
{
    /// <summary>Opens the window: the host snapshots its exit counters and clock.</summary>
    public static void Start(long operations) => RawHypercall.Call((Hypercall)WorkloadProtocol.MeasureStartHypercall, (ulong)operations);

    /// <summary>Closes the window with the number of operations done.</summary>
    public static void Stop(long operationsDone) => RawHypercall.Call((Hypercall)WorkloadProtocol.MeasureStopHypercall, (ulong)operationsDone);
}
