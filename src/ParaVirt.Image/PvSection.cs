using System;

namespace ParaVirt.Image;

/// <summary>
/// One section of a .pvimg: a name, a guest address, its size in memory, its permissions, and
/// its initialised bytes (<see cref="Data"/>, possibly shorter than <see cref="MemorySize"/>: the
/// rest is zero, which is how bss is stored).
/// </summary>
/// <example><code>
/// var text = new PvSection(".text", 0x200000, 4096, SectionPermissions.Read | SectionPermissions.Execute, code);
/// var bss = new PvSection(".bss", 0x201000, 512, SectionPermissions.Read | SectionPermissions.Write, Array.Empty&lt;byte&gt;());
/// </code></example>
public sealed class PvSection
{
    /// <summary>Creates a section.</summary>
    public PvSection(string name, ulong address, ulong memorySize, SectionPermissions permissions, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(data);
        if ((ulong)data.Length > memorySize)
            throw new ArgumentException($"section {name} has {data.Length} bytes of data but only {memorySize} bytes of memory", nameof(data));
        Name = name;
        Address = address;
        MemorySize = memorySize;
        Permissions = permissions;
        Data = data;
    }

    /// <summary>The section's name (at most <see cref="PvImageFormat.SectionNameLength"/> ASCII characters).</summary>
    public string Name { get; }

    /// <summary>Guest address of the first byte.</summary>
    public ulong Address { get; }

    /// <summary>Bytes the section occupies in guest memory.</summary>
    public ulong MemorySize { get; }

    /// <summary>Access rights.</summary>
    public SectionPermissions Permissions { get; }

    /// <summary>The initialised bytes; the remaining <c>MemorySize - Data.Length</c> bytes are zero.</summary>
    public byte[] Data { get; }

    /// <summary>One past the last byte in guest memory.</summary>
    public ulong End => Address + MemorySize;

    /// <summary>True when <paramref name="address"/> lies inside the section.</summary>
    public bool Contains(ulong address) => address >= Address && address - Address < MemorySize;

    /// <inheritdoc />
    public override string ToString() => $"{Name} 0x{Address:x}+0x{MemorySize:x} {Permissions}";
}
