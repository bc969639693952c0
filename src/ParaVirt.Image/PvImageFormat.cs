using System;
using System.Buffers.Binary;

namespace ParaVirt.Image;

/// <summary>
/// The .pvimg file layout (docs/image-format.md): a 64-byte header, a table of 48-byte section
/// entries, then the sections' bytes. Little-endian throughout. The CRC-32 in the header covers
/// the whole file with the checksum field read as zero.
/// </summary>
/// <example><code>
/// byte[] file = File.ReadAllBytes("Hello.pvimg");
/// file[PvImageFormat.EntryOffset] ^= 1;     // patch a field...
/// PvImageFormat.UpdateChecksum(file);        // ...and reseal the file
/// </code></example>
public static class PvImageFormat
{
    /// <summary>The 8 magic bytes: "PVIMG", 0x1A, '\n', 0.</summary>
    public static ReadOnlySpan<byte> Magic => "PVIMG\x1A\n\0"u8;

    /// <summary>The format version this code reads and writes.</summary>
    public const ushort FormatVersion = 1;

    /// <summary>Bytes in the header.</summary>
    public const int HeaderSize = 64;

    /// <summary>Bytes in one section-table entry.</summary>
    public const int SectionEntrySize = 48;

    /// <summary>Maximum length of a section name (NUL-padded in the entry).</summary>
    public const int SectionNameLength = 16;

    /// <summary>Image load addresses and sizes are multiples of this.</summary>
    public const ulong PageSize = 4096;

    /// <summary>At most this many sections.</summary>
    public const int MaxSections = 64;

    /// <summary>
    /// The largest memory size an image may declare, for the whole image and so for each section:
    /// 1 GiB, the most guest RAM any ParaVirt platform offers (the KVM platform's maximum). The
    /// reader refuses a larger size before it allocates anything for the sections.
    /// </summary>
    public const ulong MaxMemorySize = 1UL << 30;

    /// <summary>Header offset of the format version (u16).</summary>
    public const int FormatVersionOffset = 8;
    /// <summary>Header offset of the header size (u16).</summary>
    public const int HeaderSizeOffset = 10;
    /// <summary>Header offset of the ABI version (u32).</summary>
    public const int AbiVersionOffset = 12;
    /// <summary>Header offset of the entry address (u64).</summary>
    public const int EntryOffset = 16;
    /// <summary>Header offset of the load address (u64).</summary>
    public const int LoadAddressOffset = 24;
    /// <summary>Header offset of the memory size (u64).</summary>
    public const int MemorySizeOffset = 32;
    /// <summary>Header offset of the section count (u32).</summary>
    public const int SectionCountOffset = 40;
    /// <summary>Header offset of the section entry size (u32).</summary>
    public const int SectionEntrySizeOffset = 44;
    /// <summary>Header offset of the file size (u64).</summary>
    public const int FileSizeOffset = 48;
    /// <summary>Header offset of the CRC-32 (u32).</summary>
    public const int ChecksumOffset = 56;
    /// <summary>Header offset of the flags (u32, zero).</summary>
    public const int FlagsOffset = 60;

    /// <summary>Section-entry offset of the address (u64); the name takes bytes 0 to 15.</summary>
    public const int SectionAddressOffset = 16;
    /// <summary>Section-entry offset of the memory size (u64).</summary>
    public const int SectionMemorySizeOffset = 24;
    /// <summary>Section-entry offset of the file offset (u32).</summary>
    public const int SectionFileOffsetOffset = 32;
    /// <summary>Section-entry offset of the file size (u32).</summary>
    public const int SectionFileSizeOffset = 36;
    /// <summary>Section-entry offset of the permissions (u32, <see cref="SectionPermissions"/>).</summary>
    public const int SectionPermissionsOffset = 40;
    /// <summary>Section-entry offset of the reserved word (u32, zero).</summary>
    public const int SectionReservedOffset = 44;

    /// <summary>The CRC-32 of <paramref name="file"/> with the checksum field read as zero.</summary>
    public static uint ComputeChecksum(ReadOnlySpan<byte> file)
    {
        uint crc = Crc32.Update(Crc32.Initial, file[..ChecksumOffset]);
        crc = Crc32.Update(crc, [0, 0, 0, 0]);
        crc = Crc32.Update(crc, file[(ChecksumOffset + 4)..]);
        return Crc32.Finish(crc);
    }

    /// <summary>Recomputes and stores the checksum of a whole file (after patching a field).</summary>
    public static void UpdateChecksum(Span<byte> file)
    {
        if (file.Length < HeaderSize)
            throw new ArgumentException("a .pvimg is at least 64 bytes", nameof(file));
        BinaryPrimitives.WriteUInt32LittleEndian(file[ChecksumOffset..], ComputeChecksum(file));
    }
}
