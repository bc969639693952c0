namespace ParaVirt.Workloads;

/// <summary>
/// The order of <c>blk-randread</c>'s requests, shared by the host and the guest: request
/// <c>i</c> reads the 4 KiB block <c>SplitMix64(Seed + i) mod blocks</c>, a deterministic PRNG
/// stream indexed by the request number (so any request's block is known without replaying the
/// stream). Every block holds <see cref="SectorPattern"/>, so every read is verified.
/// </summary>
/// <example><code>
/// ulong block = RandomRequests.Block(i, blocks: 1024);
/// ulong firstSector = block * WorkloadProtocol.SectorsPerRequest;
/// </code></example>
public static class RandomRequests
{
    /// <summary>The stream's seed.</summary>
    public const ulong Seed = 0x5041_5241_5649_5254UL; // "PARAVIRT"

    /// <summary>The block (0 to <paramref name="blocks"/> - 1) request <paramref name="index"/> reads; <paramref name="blocks"/> must be positive.</summary>
    public static ulong Block(long index, long blocks)
    {
        ulong z = Seed + (ulong)index * 0x9E37_79B9_7F4A_7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        z ^= z >> 31;
        return z % (ulong)blocks;
    }
}
