namespace ParaVirt.Workloads;

/// <summary>
/// The deterministic content of every disk sector in the block workloads, compiled into the guest
/// and the host: 64-bit word <c>w</c> of sector <c>s</c> is a mix (murmur3's finaliser) of
/// <c>s * 64 + w</c>. Every sector is distinct from every other, so a byte written to the wrong
/// sector, a stale sector, or a flipped bit is found.
/// </summary>
/// <example><code>
/// SectorPattern.Fill(buffer, firstSector: 8, sectors: 8);                       // 4 KiB
/// int bad = SectorPattern.CountMismatchedSectors(buffer, firstSector: 8, sectors: 8);   // 0
/// </code></example>
public static unsafe class SectorPattern
{
    /// <summary>64-bit words per 512-byte sector.</summary>
    public const int WordsPerSector = 64;

    /// <summary>Word <paramref name="word"/> (0-63) of sector <paramref name="sector"/>.</summary>
    public static ulong Word(ulong sector, uint word)
    {
        ulong x = (sector * WordsPerSector + word) ^ 0x5041524156495254UL; // "PARAVIRT"
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53UL;
        x ^= x >> 33;
        return x;
    }

    /// <summary>Writes the pattern of <paramref name="sectors"/> sectors from <paramref name="firstSector"/> into <paramref name="buffer"/>.</summary>
    public static void Fill(byte* buffer, ulong firstSector, int sectors)
    {
        ulong* words = (ulong*)buffer;
        for (int s = 0; s < sectors; s++)
            for (uint w = 0; w < WordsPerSector; w++)
                words[s * WordsPerSector + w] = Word(firstSector + (ulong)s, w);
    }

    /// <summary>The number of sectors in <paramref name="buffer"/> that differ from the pattern in any byte.</summary>
    public static int CountMismatchedSectors(byte* buffer, ulong firstSector, int sectors)
    {
        ulong* words = (ulong*)buffer;
        int bad = 0;
        for (int s = 0; s < sectors; s++)
        {
            for (uint w = 0; w < WordsPerSector; w++)
            {
                if (words[s * WordsPerSector + w] != Word(firstSector + (ulong)s, w))
                {
                    bad++;
                    break;
                }
            }
        }
        return bad;
    }
}
