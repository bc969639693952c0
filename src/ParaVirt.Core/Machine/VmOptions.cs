using System;
using System.Collections.Generic;
using System.IO.Pipelines;

namespace ParaVirt.Core.Machine;

/// <summary>How to build a <see cref="VirtualMachine"/>.</summary>
public sealed class VmOptions
{
    /// <summary>Bytes of guest RAM (default 16 MiB). A multiple of 2 MiB.</summary>
    public ulong MemorySize { get; init; } = 16UL << 20;

    /// <summary>Where the guest console goes; null counts the bytes and drops them.</summary>
    public PipeWriter? ConsoleOutput { get; init; }

    /// <summary>Where guest console input comes from; null means none.</summary>
    public PipeReader? ConsoleInput { get; init; }

    /// <summary>Ports the guest may access with <c>in</c>/<c>out</c> without a trap (each access still exits to the host's port bus).</summary>
    public IReadOnlyList<ushort> OpenPorts { get; init; } = Array.Empty<ushort>();

    /// <summary>
    /// Bytes of host-private memory for page tables the guest can neither see nor map (shadow
    /// tables, split identity-map tables; see <see cref="Engine.IHostPrivateMemory"/>). Default 8 MiB
    /// (2048 tables); untouched pages cost no host memory. A multiple of 4 KiB; 0 for none.
    /// </summary>
    public ulong PrivateMemorySize { get; init; } = 8UL << 20;

    /// <summary>The value the <c>Null</c> hypercall returns.</summary>
    public long NullHypercallValue { get; init; }
}
