namespace Workloads;

/// <summary>The CPU workloads of the workloads guest (irq-mask, clock-read, timer-sleep, multicall).</summary>
internal static class CpuWorkloads
{
    /// <summary>Runs workload <paramref name="name"/> for <paramref name="operations"/> operations if it is a CPU workload.</summary>
    /// <returns>False when <paramref name="name"/> is not a CPU workload.</returns>
    public static bool TryRun(System.ReadOnlySpan<byte> name, long operations, out int exitCode)
    {
        exitCode = 0;
        return false;
    }
}
