using System;

namespace ParaVirt.Core.Storage;

/// <summary>
/// Writes a scatter list of guest buffers, whose lengths need not be sector multiples, to
/// consecutive sectors of a <see cref="DiskImage"/>: whole sectors go straight from each buffer to
/// the disk, a sector split across two buffers is gathered in a one-sector bounce buffer the device
/// allocated once. The device feeds it one buffer after the other; nothing is allocated.
/// </summary>
/// <example><code>
/// var writer = new SectorWriter(disk, firstSector, bounce);   // bounce: DiskImage.SectorSize bytes
/// foreach (Span&lt;byte&gt; buffer in buffers)
///     if (!writer.TryDrain(buffer))
///         return false;                                       // a host I/O error
/// return writer.EndsOnSector;                                 // false: a partial sector was left over
/// </code></example>
public ref struct SectorWriter
{
    private readonly DiskImage _disk;
    private readonly Span<byte> _bounce;
    private ulong _sector;
    private int _partial;

    /// <summary>Starts at <paramref name="sector"/>; <paramref name="bounce"/> holds one sector.</summary>
    public SectorWriter(DiskImage disk, ulong sector, Span<byte> bounce)
    {
        _disk = disk;
        _sector = sector;
        _bounce = bounce;
    }

    /// <summary>Whether every byte given so far reached the disk (no partial sector waits in the bounce buffer).</summary>
    public readonly bool EndsOnSector => _partial == 0;

    /// <summary>Writes <paramref name="bytes"/> as the next bytes of the disk. False on a host I/O error.</summary>
    public bool TryDrain(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_partial > 0 || bytes.Length < DiskImage.SectorSize)
            {
                // Gather a sector that straddles buffers.
                int n = Math.Min(DiskImage.SectorSize - _partial, bytes.Length);
                bytes[..n].CopyTo(_bounce[_partial..]);
                _partial += n;
                bytes = bytes[n..];
                if (_partial == DiskImage.SectorSize)
                {
                    if (!_disk.TryWrite(_sector++, _bounce))
                        return false;
                    _partial = 0;
                }
            }
            else
            {
                int whole = bytes.Length & ~(DiskImage.SectorSize - 1);
                if (!_disk.TryWrite(_sector, bytes[..whole]))
                    return false;
                _sector += (ulong)(whole / DiskImage.SectorSize);
                bytes = bytes[whole..];
            }
        }
        return true;
    }
}
