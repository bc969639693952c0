using System;
using System.IO;

namespace ParaVirt.Workloads;

/// <summary>
/// What every measurement names: the host machine's CPU model (from /proc/cpuinfo), its logical
/// cores and its kernel release.
/// </summary>
/// <example><code>
/// Console.WriteLine(MachineInfo.Describe());   // "AMD EPYC 7B13, 2 cores, Linux 6.8.0-1019"
/// </code></example>
public static class MachineInfo
{
    /// <summary>The CPU model name, or "unknown CPU".</summary>
    public static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal))
                {
                    int colon = line.IndexOf(':', StringComparison.Ordinal);
                    if (colon >= 0)
                        return line[(colon + 1)..].Trim();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return "unknown CPU";
    }

    /// <summary>The kernel release ("6.8.0-1019-gcp"), or the OS description.</summary>
    public static string KernelRelease()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Environment.OSVersion.VersionString;
        }
    }

    /// <summary>"CPU model, N cores, Linux release".</summary>
    public static string Describe() => $"{CpuModel()}, {Environment.ProcessorCount} cores, Linux {KernelRelease()}";
}
