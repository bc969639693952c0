using System;
using System.Collections.Generic;

namespace ParaVirt.Fuzz.Targets;

/// <summary>The targets by name (docs/fuzzing.md).</summary>
public static class FuzzTargets
{
    /// <summary>The targets' names, in the order of docs/fuzzing.md.</summary>
    public static IReadOnlyList<string> Names { get; } = ["pvimg", "hostcall", "virtio", "trap", "portio", "nvme", "virtio-async"];

    /// <summary>Creates the target called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such target.</exception>
    public static IFuzzTarget Create(string name) => name switch
    {
        "pvimg" => new PvImageTarget(),
        "hostcall" => new HostCallTarget(),
        "virtio" => new VirtioTarget(),
        "trap" => new TrapEmulatorTarget(),
        "portio" => new PortIoTarget(),
        "nvme" => new NvmeTarget(),
        "virtio-async" => new VirtioTarget(asyncTransport: true),
        _ => throw new ArgumentException($"unknown fuzz target '{name}' (known: {string.Join(", ", Names)})", nameof(name)),
    };
}
