using System;
using ParaVirt.Core.Storage;

namespace ParaVirt.Workloads;

/// <summary>
/// Host-side use of <see cref="SectorPattern"/> on a <see cref="DiskImage"/>: pre-fill a disk for
/// <c>blk-read</c>, and check what <c>blk-write</c> left on it. Works in 64 KiB chunks through one
/// buffer.
/// </summary>
/// <example><code>
/// using DiskImage disk = DiskImage.Create(path, 8192);
/// DiskPattern.Fill(disk, 8192);
/// long bad = DiskPattern.CountMismatchedSectors(disk, 8192);   // 0
/// </code></example>
public static unsafe class DiskPattern
{
    private const int ChunkSectors = 128;

    /// <summary>Writes the pattern into sectors [0, <paramref name="sectors"/>).</summary>
    /// <exception cref="System.IO.IOException">The disk refused the write.</exception>
    public static void Fill(DiskImage disk, ulong sectors)
    {
        ArgumentNullException.ThrowIfNull(disk);
        byte[] chunk = new byte[ChunkSectors * DiskImage.SectorSize];
        for (ulong s = 0; s < sectors; s += ChunkSectors)
        {
            int n = (int)Math.Min(ChunkSectors, sectors - s);
            fixed (byte* p = chunk)
                SectorPattern.Fill(p, s, n);
            if (!disk.TryWrite(s, chunk.AsSpan(0, n * DiskImage.SectorSize)))
                throw new System.IO.IOException($"cannot write the pattern to {disk.Path} at sector {s}");
        }
    }

    /// <summary>The number of sectors in [0, <paramref name="sectors"/>) that differ from the pattern (unreadable ones count as different).</summary>
    public static long CountMismatchedSectors(DiskImage disk, ulong sectors)
    {
        ArgumentNullException.ThrowIfNull(disk);
        byte[] chunk = new byte[ChunkSectors * DiskImage.SectorSize];
        long bad = 0;
        for (ulong s = 0; s < sectors; s += ChunkSectors)
        {
            int n = (int)Math.Min(ChunkSectors, sectors - s);
            if (!disk.TryRead(s, chunk.AsSpan(0, n * DiskImage.SectorSize)))
            {
                bad += n;
                continue;
            }
            fixed (byte* p = chunk)
                bad += SectorPattern.CountMismatchedSectors(p, s, n);
        }
        return bad;
    }
}
