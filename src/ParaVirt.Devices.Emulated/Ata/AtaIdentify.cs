using System;
using System.Buffers.Binary;

namespace ParaVirt.Devices.Emulated.Ata;

/// <summary>
/// Builds the 256-word IDENTIFY DEVICE block of a 28-bit LBA, PIO-only ATA disk (ATA/ATAPI-6
/// §8.15). Strings are ASCII, space padded, two characters per word with the first character in the
/// high byte (the spec's byte order, which a little-endian reader sees swapped).
/// </summary>
/// <example>
/// <code>
/// Span&lt;byte&gt; block = stackalloc byte[512];
/// AtaIdentify.Build(block, new AtaGeometry(disk.SectorCount), "PARAVIRT ATA DISK", "PV0001", "1.0");
/// </code>
/// </example>
public static class AtaIdentify
{
    /// <summary>The largest sector count a 28-bit LBA disk reports in words 60-61.</summary>
    public const uint MaxLba28Sectors = 0x0FFF_FFFF;

    /// <summary>Fills <paramref name="block"/> (512 bytes, little-endian words) for a disk of the given geometry.</summary>
    /// <exception cref="ArgumentException"><paramref name="block"/> is not 512 bytes.</exception>
    /// <param name="block">512 bytes to fill.</param>
    /// <param name="geometry">The disk's geometry.</param>
    /// <param name="model">Model string (words 27-46).</param>
    /// <param name="serial">Serial string (words 10-19).</param>
    /// <param name="firmware">Firmware string (words 23-26).</param>
    /// <param name="dma">The drive sits behind a bus master: DMA supported (word 49 bit 8), multiword DMA 0-2 and Ultra DMA 0-5, mode 2 selected.</param>
    public static void Build(Span<byte> block, in AtaGeometry geometry, string model, string serial, string firmware, bool dma = false)
    {
        if (block.Length != 512)
            throw new ArgumentException("an IDENTIFY block is 512 bytes", nameof(block));
        block.Clear();
        uint lba28 = (uint)Math.Min(geometry.Sectors, MaxLba28Sectors);

        SetWord(block, 0, 0x0040);                     // ATA device, fixed (non-removable)
        SetWord(block, 1, geometry.DefaultCylinders);  // default CHS translation
        SetWord(block, 3, geometry.DefaultHeads);
        SetWord(block, 6, geometry.DefaultSectorsPerTrack);
        SetString(block, 10, 20, serial);              // words 10-19
        SetString(block, 23, 8, firmware);             // words 23-26
        SetString(block, 27, 40, model);               // words 27-46
        SetWord(block, 47, 0x8000);                    // READ/WRITE MULTIPLE not supported
        SetWord(block, 49, dma ? (ushort)0x0300 : (ushort)0x0200); // LBA supported; DMA supported with a bus master
        SetWord(block, 50, 0x4000);                    // bit 14 shall be one
        SetWord(block, 51, 0x0200);                    // PIO timing mode 2 (obsolete field)
        SetWord(block, 53, dma ? (ushort)0x0007 : (ushort)0x0003); // words 54-58, 64-70 (and 88) valid
        SetWord(block, 54, geometry.CurrentCylinders);
        SetWord(block, 55, geometry.CurrentHeads);
        SetWord(block, 56, geometry.CurrentSectorsPerTrack);
        uint chsCapacity = (uint)geometry.CurrentCylinders * geometry.CurrentHeads * geometry.CurrentSectorsPerTrack;
        SetWord(block, 57, (ushort)chsCapacity);
        SetWord(block, 58, (ushort)(chsCapacity >> 16));
        SetWord(block, 60, (ushort)lba28);             // total 28-bit addressable sectors
        SetWord(block, 61, (ushort)(lba28 >> 16));
        if (dma)
        {
            SetWord(block, 63, 0x0407);                // multiword DMA 0-2 supported, mode 2 selected
            SetWord(block, 88, 0x003F);                // Ultra DMA 0-5 supported, none selected
        }
        SetWord(block, 64, 0x0003);                    // PIO modes 3 and 4
        SetWord(block, 65, 120);                       // cycle times, ns
        SetWord(block, 66, 120);
        SetWord(block, 67, 120);
        SetWord(block, 68, 120);
        SetWord(block, 80, 0x007E);                    // ATA-1 .. ATA-6
        SetWord(block, 82, 0x0020);                    // write cache supported
        SetWord(block, 83, 0x5000);                    // bit 14 one; FLUSH CACHE supported; no 48-bit
        SetWord(block, 84, 0x4000);
        SetWord(block, 85, 0x0020);                    // write cache enabled
        SetWord(block, 86, 0x1000);                    // FLUSH CACHE enabled; 48-bit not enabled
        SetWord(block, 87, 0x4000);
        // Words 100-103 (48-bit max LBA) stay zero: the 48-bit feature set is not implemented.

        // Word 255: signature A5h and a checksum making the 512 bytes sum to zero (mod 256).
        block[510] = 0xA5;
        byte sum = 0;
        for (int i = 0; i < 511; i++)
            sum += block[i];
        block[511] = (byte)(0 - sum);
    }

    private static void SetWord(Span<byte> block, int word, ushort value) =>
        BinaryPrimitives.WriteUInt16LittleEndian(block.Slice(word * 2, 2), value);

    private static void SetString(Span<byte> block, int firstWord, int length, string text)
    {
        for (int i = 0; i < length; i++)
        {
            char c = i < text.Length ? text[i] : ' ';
            byte b = c is >= ' ' and <= '~' ? (byte)c : (byte)'?';
            // Character 2k goes in the high byte of the word, character 2k+1 in the low byte.
            block[firstWord * 2 + (i ^ 1)] = b;
        }
    }
}
