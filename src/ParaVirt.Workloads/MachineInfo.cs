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

    /// <summary>
    /// The KVM modules of the running kernel ("kvm_amd, kvm"), from /sys/module (which lists
    /// built-in modules too; /proc/modules is absent on some kernels), or "none".
    /// </summary>
    public static string KvmModules()
    {
        try
        {
            var modules = new System.Collections.Generic.List<string>();
            if (Directory.Exists("/sys/module"))
            {
                foreach (string path in Directory.EnumerateDirectories("/sys/module", "kvm*"))
                {
                    string name = Path.GetFileName(path);
                    if (name == "kvm" || name.StartsWith("kvm_", StringComparison.Ordinal))
                        modules.Add(name);
                }
            }
            // The vendor module first: it names the host (kvm_intel, kvm_amd, kvm_pvm).
            modules.Sort((a, b) => a == "kvm" ? 1 : b == "kvm" ? -1 : string.CompareOrdinal(a, b));
            return modules.Count == 0 ? "none" : string.Join(", ", modules);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    /// <summary>The 1-minute load average from /proc/loadavg, or null: how busy the host was (a shared machine's times are noisier).</summary>
    public static double? LoadAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            int space = text.IndexOf(' ', StringComparison.Ordinal);
            return double.TryParse(space < 0 ? text : text[..space], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double load) ? load : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>"CPU model, N cores, Linux release".</summary>
    public static string Describe() => $"{CpuModel()}, {Environment.ProcessorCount} cores, Linux {KernelRelease()}";
}
