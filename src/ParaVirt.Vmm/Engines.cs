using System;
using System.Collections.Generic;
using ParaVirt.Core.Engine;
using ParaVirt.Kvm;

namespace ParaVirt.Vmm;

/// <summary>
/// The engines a machine can run on, by name: the one registry that maps a name to an
/// <see cref="IHypervisor"/>. Today there is one, <c>kvm</c> (<see cref="KvmHypervisor"/>), which is
/// also the <see cref="Default"/>. Nothing else spells an engine's name.
/// </summary>
/// <example><code>
/// if (!Engines.IsAvailable(Engines.Default, out string why)) { Console.Error.WriteLine(why); return 69; }
/// IHypervisor engine = Engines.Create(Engines.Default);
/// </code></example>
public static class Engines
{
    /// <summary>Whether an engine can run guests here; if not, <paramref name="reason"/> says why in one line.</summary>
    public delegate bool AvailabilityProbe(out string reason);

    private sealed record Entry(string Name, Func<IHypervisor> Create, AvailabilityProbe IsAvailable);

    private static readonly Entry[] s_entries =
    [
        new(KvmHypervisor.EngineName, static () => new KvmHypervisor(), KvmHypervisor.IsAvailable),
    ];

    /// <summary>The engine used when none is named.</summary>
    public static string Default => s_entries[0].Name;

    /// <summary>Every registered engine's name.</summary>
    public static IReadOnlyList<string> Names => Array.ConvertAll(s_entries, e => e.Name);

    /// <summary>Whether an engine is named <paramref name="name"/> (names are case-sensitive).</summary>
    public static bool IsKnown(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (Entry entry in s_entries)
            if (string.Equals(entry.Name, name, StringComparison.Ordinal))
                return true;
        return false;
    }

    /// <summary>Creates the engine named <paramref name="name"/> (<see cref="Default"/> when null).</summary>
    /// <exception cref="ArgumentException">No engine has that name.</exception>
    public static IHypervisor Create(string? name = null) => Find(name).Create();

    /// <summary>Whether the engine named <paramref name="name"/> (<see cref="Default"/> when null) can run guests here.</summary>
    /// <exception cref="ArgumentException">No engine has that name.</exception>
    public static bool IsAvailable(string? name, out string reason) => Find(name).IsAvailable(out reason);

    private static Entry Find(string? name)
    {
        name ??= Default;
        foreach (Entry entry in s_entries)
            if (string.Equals(entry.Name, name, StringComparison.Ordinal))
                return entry;
        throw new ArgumentException($"no engine is named '{name}' (engines: {string.Join(", ", Names)})", nameof(name));
    }
}
