namespace Hello;

/// <summary>CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) with a table built on the heap.</summary>
public static class Crc32
{
    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(System.ReadOnlySpan<byte> data)
    {
        uint[] table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        uint crc = 0xFFFFFFFFu;
        for (int i = 0; i < data.Length; i++)
            crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }
}
