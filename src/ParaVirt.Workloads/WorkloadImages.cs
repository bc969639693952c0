using System;
using System.Collections.Generic;
using System.IO;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads;

/// <summary>
/// Finds the workloads guest's images, <c>Workloads.Full.pvimg</c> and <c>Workloads.Para.pvimg</c>.
/// Search order: the directory given by the caller; <c>$PARAVIRT_WORKLOAD_IMAGES</c>;
/// <c>guests/</c> next to the running program (the build copies them there for every project that
/// references ParaVirt.Workloads); the guest projects' own build output in the source tree above the
/// program (<c>src/ParaVirt.Workloads.Guest/{Full,Para}/bin/{Release,Debug}/net10.0</c>, newest first).
/// </summary>
/// <example><code>
/// string path = WorkloadImages.Find(VirtualizationMode.Para);   // .../guests/Workloads.Para.pvimg
/// </code></example>
public static class WorkloadImages
{
    /// <summary>The environment variable naming a directory that holds both images.</summary>
    public const string EnvironmentVariable = "PARAVIRT_WORKLOAD_IMAGES";

    /// <summary>The image file name for <paramref name="mode"/>.</summary>
    public static string FileName(VirtualizationMode mode) => mode == VirtualizationMode.Full ? "Workloads.Full.pvimg" : "Workloads.Para.pvimg";

    /// <summary>The image for <paramref name="mode"/>.</summary>
    /// <exception cref="WorkloadException">No candidate exists; the message lists where it looked.</exception>
    public static string Find(VirtualizationMode mode, string? directory = null)
    {
        string name = FileName(mode);
        var looked = new List<string>();
        foreach (string candidate in Candidates(mode, directory))
        {
            if (File.Exists(candidate))
                return candidate;
            looked.Add(candidate);
        }
        throw new WorkloadException($"the workload image {name} was not found (build it with 'dotnet build'; looked in: {string.Join(", ", looked)})");
    }

    private static IEnumerable<string> Candidates(VirtualizationMode mode, string? directory)
    {
        string name = FileName(mode);
        if (!string.IsNullOrEmpty(directory))
        {
            yield return Path.Combine(directory, name);
            yield break; // an explicit directory is the only place
        }
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env)
            yield return Path.Combine(env, name);
        yield return Path.Combine(AppContext.BaseDirectory, "guests", name);
        string project = mode == VirtualizationMode.Full ? "Full" : "Para";
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string built = Path.Combine(dir.FullName, "src", "ParaVirt.Workloads.Guest", project, "bin");
            if (!Directory.Exists(built))
                continue;
            string release = Path.Combine(built, "Release", "net10.0", name);
            string debug = Path.Combine(built, "Debug", "net10.0", name);
            bool releaseNewer = File.Exists(release) && (!File.Exists(debug) || File.GetLastWriteTimeUtc(release) >= File.GetLastWriteTimeUtc(debug));
            yield return releaseNewer ? release : debug;
            yield return releaseNewer ? debug : release;
            yield break;
        }
    }
}
