using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;

namespace ParaVirt.Image;

/// <summary>Serialises a <see cref="PvImage"/> to the .pvimg format (docs/image-format.md).</summary>
/// <example><code>
/// byte[] bytes = PvImageWriter.Write(image);
/// PvImageWriter.WriteFile(image, "Hello.pvimg");
/// </code></example>
public static class PvImageWriter
{
    /// <summary>The file bytes of <paramref name="image"/>.</summary>
    public static byte[] Write(PvImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Sections.Count > PvImageFormat.MaxSections)
            throw new ArgumentException($"an image holds at most {PvImageFormat.MaxSections} sections, this one has {image.Sections.Count}", nameof(image));
        int tableEnd = PvImageFormat.HeaderSize + image.Sections.Count * PvImageFormat.SectionEntrySize;
        long size = Align16(tableEnd);
        foreach (PvSection s in image.Sections)
            size = Align16(size + s.Data.Length);
        if (size > int.MaxValue)
            throw new ArgumentException("the image is larger than 2 GiB", nameof(image));

        var file = new byte[size];
        Span<byte> h = file;
        PvImageFormat.Magic.CopyTo(h);
        BinaryPrimitives.WriteUInt16LittleEndian(h[PvImageFormat.FormatVersionOffset..], PvImageFormat.FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(h[PvImageFormat.HeaderSizeOffset..], PvImageFormat.HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(h[PvImageFormat.AbiVersionOffset..], image.AbiVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(h[PvImageFormat.EntryOffset..], image.Entry);
        BinaryPrimitives.WriteUInt64LittleEndian(h[PvImageFormat.LoadAddressOffset..], image.LoadAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(h[PvImageFormat.MemorySizeOffset..], image.MemorySize);
        BinaryPrimitives.WriteUInt32LittleEndian(h[PvImageFormat.SectionCountOffset..], (uint)image.Sections.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(h[PvImageFormat.SectionEntrySizeOffset..], PvImageFormat.SectionEntrySize);
        BinaryPrimitives.WriteUInt64LittleEndian(h[PvImageFormat.FileSizeOffset..], (ulong)size);

        int dataOffset = (int)Align16(tableEnd);
        for (int i = 0; i < image.Sections.Count; i++)
        {
            PvSection s = image.Sections[i];
            Span<byte> e = file.AsSpan(PvImageFormat.HeaderSize + i * PvImageFormat.SectionEntrySize, PvImageFormat.SectionEntrySize);
            int nameLength = Encoding.ASCII.GetBytes(s.Name.Length > PvImageFormat.SectionNameLength ? s.Name[..PvImageFormat.SectionNameLength] : s.Name, e);
            _ = nameLength;
            BinaryPrimitives.WriteUInt64LittleEndian(e[PvImageFormat.SectionAddressOffset..], s.Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e[PvImageFormat.SectionMemorySizeOffset..], s.MemorySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e[PvImageFormat.SectionFileOffsetOffset..], s.Data.Length == 0 ? 0u : (uint)dataOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(e[PvImageFormat.SectionFileSizeOffset..], (uint)s.Data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[PvImageFormat.SectionPermissionsOffset..], (uint)s.Permissions);
            s.Data.CopyTo(file, dataOffset);
            dataOffset = (int)Align16(dataOffset + s.Data.Length);
        }
        PvImageFormat.UpdateChecksum(file);
        return file;
    }

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> (replacing it).</summary>
    public static void WriteFile(PvImage image, string path) => File.WriteAllBytes(path, Write(image));

    private static long Align16(long value) => (value + 15) & ~15L;
}
