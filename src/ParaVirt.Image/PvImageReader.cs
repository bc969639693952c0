using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;
using AbiVersion = ParaVirt.Abi.AbiVersion;

namespace ParaVirt.Image;

/// <summary>
/// Parses and validates a .pvimg. Anything wrong (truncated, corrupt, another format or ABI
/// version, sections outside the image, an entry outside executable code) raises an
/// <see cref="InvalidImageException"/> with a one-line message; a returned image is consistent.
/// </summary>
/// <example><code>
/// PvImage image = PvImageReader.ReadFile("Hello.pvimg");
/// </code></example>
public static class PvImageReader
{
    /// <summary>Reads and validates the image at <paramref name="path"/>.</summary>
    public static PvImage ReadFile(string path) => Read(File.ReadAllBytes(path), Path.GetFileName(path));

    /// <summary>Parses and validates <paramref name="file"/>; <paramref name="name"/> names it in messages.</summary>
    public static PvImage Read(ReadOnlySpan<byte> file, string name = "image")
    {
        if (file.Length < PvImageFormat.HeaderSize)
            throw Invalid(name, $"truncated: {file.Length} bytes is shorter than the {PvImageFormat.HeaderSize}-byte header");
        if (!file[..8].SequenceEqual(PvImageFormat.Magic))
            throw Invalid(name, $"not a ParaVirt image: bad magic {Convert.ToHexString(file[..8])} (expected {Convert.ToHexString(PvImageFormat.Magic)})");
        ushort format = U16(file, PvImageFormat.FormatVersionOffset);
        if (format != PvImageFormat.FormatVersion)
            throw Invalid(name, $"unsupported image format version {format} (this host reads version {PvImageFormat.FormatVersion})");
        if (U16(file, PvImageFormat.HeaderSizeOffset) != PvImageFormat.HeaderSize || U32(file, PvImageFormat.SectionEntrySizeOffset) != PvImageFormat.SectionEntrySize)
            throw Invalid(name, "corrupt header: unexpected header or section-entry size");
        ulong declared = U64(file, PvImageFormat.FileSizeOffset);
        if ((ulong)file.Length < declared)
            throw Invalid(name, $"truncated: the header declares {declared} bytes but only {file.Length} are present");
        if ((ulong)file.Length > declared)
            throw Invalid(name, $"corrupt: {(ulong)file.Length - declared} bytes follow the declared end of the image ({declared} bytes)");
        uint stored = U32(file, PvImageFormat.ChecksumOffset);
        uint computed = PvImageFormat.ComputeChecksum(file);
        if (stored != computed)
            throw Invalid(name, $"corrupt: checksum mismatch (stored 0x{stored:x8}, computed 0x{computed:x8})");

        uint abi = U32(file, PvImageFormat.AbiVersionOffset);
        if (abi >> 16 != AbiVersion.Major || (abi & 0xFFFF) > AbiVersion.Minor)
            throw Invalid(name, $"built for ABI {abi >> 16}.{abi & 0xFFFF}, but this host implements ABI {AbiVersion.Major}.{AbiVersion.Minor}");
        if (U32(file, PvImageFormat.FlagsOffset) != 0)
            throw Invalid(name, "unsupported header flags");

        ulong entry = U64(file, PvImageFormat.EntryOffset);
        ulong load = U64(file, PvImageFormat.LoadAddressOffset);
        ulong memorySize = U64(file, PvImageFormat.MemorySizeOffset);
        if (load % PvImageFormat.PageSize != 0)
            throw Invalid(name, $"load address 0x{load:x} is not page aligned");
        if (memorySize == 0 || memorySize % PvImageFormat.PageSize != 0 || load + memorySize < load)
            throw Invalid(name, $"memory size 0x{memorySize:x} is zero, not page aligned, or wraps around");
        if (memorySize > PvImageFormat.MaxMemorySize)
            throw Invalid(name, $"memory size 0x{memorySize:x} exceeds the format's maximum of 0x{PvImageFormat.MaxMemorySize:x} bytes");
        ulong end = load + memorySize;

        uint count = U32(file, PvImageFormat.SectionCountOffset);
        if (count == 0 || count > PvImageFormat.MaxSections)
            throw Invalid(name, $"section count {count} is out of range (1 to {PvImageFormat.MaxSections})");
        long tableEnd = PvImageFormat.HeaderSize + (long)count * PvImageFormat.SectionEntrySize;
        if (tableEnd > file.Length)
            throw Invalid(name, $"truncated: the section table needs {tableEnd} bytes");

        // Each section's data is copied once: the checks below (sections inside the image, data
        // inside the file, no two sections sharing file bytes) bound the copies by the file size.
        var sections = new List<PvSection>((int)count);
        Span<(uint Offset, uint Size, int Section)> ranges = stackalloc (uint, uint, int)[PvImageFormat.MaxSections];
        int rangeCount = 0;
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> e = file.Slice(PvImageFormat.HeaderSize + i * PvImageFormat.SectionEntrySize, PvImageFormat.SectionEntrySize);
            string sectionName = ReadName(e[..PvImageFormat.SectionNameLength], name, i);
            ulong address = U64(e, PvImageFormat.SectionAddressOffset);
            ulong size = U64(e, PvImageFormat.SectionMemorySizeOffset);
            uint offset = U32(e, PvImageFormat.SectionFileOffsetOffset);
            uint fileSize = U32(e, PvImageFormat.SectionFileSizeOffset);
            uint permissions = U32(e, PvImageFormat.SectionPermissionsOffset);
            if ((permissions & ~7u) != 0 || U32(e, PvImageFormat.SectionReservedOffset) != 0)
                throw Invalid(name, $"section {sectionName}: unknown permission bits 0x{permissions:x}");
            if (fileSize > size)
                throw Invalid(name, $"section {sectionName}: {fileSize} bytes of data exceed its memory size {size}");
            // An empty section counts too: its address must lie in [load, end] like any other.
            if (address < load || address > end || size > end - address)
                throw Invalid(name, $"section {sectionName} at 0x{address:x}+0x{size:x} lies outside the image [0x{load:x}, 0x{end:x})");
            if (fileSize != 0 && ((long)offset < tableEnd || (ulong)offset + fileSize > (ulong)file.Length))
                throw Invalid(name, $"section {sectionName}: its data at file offset {offset}+{fileSize} lies outside the file");
            if (sections.Count > 0 && address < sections[^1].End)
                throw Invalid(name, $"section {sectionName} at 0x{address:x} overlaps or precedes section {sections[^1].Name}");
            if (fileSize != 0)
            {
                foreach ((uint otherOffset, uint otherSize, int other) in ranges[..rangeCount])
                {
                    if (offset < otherOffset + otherSize && otherOffset < offset + fileSize)
                        throw Invalid(name, $"section {sectionName}: its data at file offset {offset}+{fileSize} overlaps the data of section {sections[other].Name}");
                }
                ranges[rangeCount++] = (offset, fileSize, i);
            }
            byte[] data = fileSize == 0 ? [] : file.Slice((int)offset, (int)fileSize).ToArray();
            sections.Add(new PvSection(sectionName, address, size, (SectionPermissions)permissions, data));
        }

        bool entryOk = false;
        foreach (PvSection s in sections)
            entryOk |= s.Contains(entry) && (s.Permissions & SectionPermissions.Execute) != 0 && entry - s.Address < (ulong)s.Data.Length;
        if (!entryOk)
            throw Invalid(name, $"entry point 0x{entry:x} is not inside an executable section of the image");
        return new PvImage(abi, entry, load, memorySize, sections);
    }

    private static string ReadName(ReadOnlySpan<byte> raw, string name, int index)
    {
        int length = raw.IndexOf((byte)0);
        if (length < 0)
            length = raw.Length;
        foreach (byte b in raw[..length])
        {
            if (b is < 0x21 or > 0x7E)
                throw Invalid(name, $"section {index}: its name is not printable ASCII");
        }
        if (length == 0)
            throw Invalid(name, $"section {index} has no name");
        return Encoding.ASCII.GetString(raw[..length]);
    }

    private static InvalidImageException Invalid(string name, string message) => new($"{name}: {message}");

    private static ushort U16(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(b[offset..]);

    private static uint U32(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(b[offset..]);

    private static ulong U64(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(b[offset..]);
}
