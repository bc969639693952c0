using System;
using System.Collections.Generic;

namespace ParaVirt.Image;

/// <summary>
/// A guest image in memory: what a .pvimg file holds (see docs/image-format.md). Produced by
/// <see cref="ElfLinker"/> or <see cref="PvImageReader"/>, written by <see cref="PvImageWriter"/>,
/// placed in a VM by <c>ImageLoader</c> (ParaVirt.Vmm).
/// </summary>
/// <example><code>
/// PvImage image = PvImageReader.ReadFile("Hello.pvimg");
/// Console.WriteLine($"entry 0x{image.Entry:x}, {image.MemorySize} bytes at 0x{image.LoadAddress:x}");
/// </code></example>
public sealed class PvImage
{
    /// <summary>Creates an image.</summary>
    public PvImage(uint abiVersion, ulong entry, ulong loadAddress, ulong memorySize, IReadOnlyList<PvSection> sections)
    {
        ArgumentNullException.ThrowIfNull(sections);
        AbiVersion = abiVersion;
        Entry = entry;
        LoadAddress = loadAddress;
        MemorySize = memorySize;
        Sections = sections;
    }

    /// <summary>The ABI version the guest was built against (<see cref="ParaVirt.Abi.AbiVersion.Current"/> at build time).</summary>
    public uint AbiVersion { get; }

    /// <summary>Guest address of the entry point.</summary>
    public ulong Entry { get; }

    /// <summary>Guest address of the image's first byte (page aligned).</summary>
    public ulong LoadAddress { get; }

    /// <summary>Bytes of guest memory the image needs from <see cref="LoadAddress"/>, bss included (page aligned).</summary>
    public ulong MemorySize { get; }

    /// <summary>One past the image's last byte in guest memory.</summary>
    public ulong End => LoadAddress + MemorySize;

    /// <summary>The sections, in address order.</summary>
    public IReadOnlyList<PvSection> Sections { get; }
}
