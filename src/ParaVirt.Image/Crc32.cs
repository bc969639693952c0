using System;

namespace ParaVirt.Image;

/// <summary>CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib computes it.</summary>
/// <example><code>uint crc = Crc32.Compute(bytes);</code></example>
public static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The starting value for <see cref="Update"/>.</summary>
    public const uint Initial = 0xFFFFFFFFu;

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Initial, data));

    /// <summary>Feeds <paramref name="data"/> into a running CRC.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>The final value of a running CRC.</summary>
    public static uint Finish(uint crc) => ~crc;

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
