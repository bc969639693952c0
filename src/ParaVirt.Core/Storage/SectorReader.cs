using System;

namespace ParaVirt.Core.Storage;

/// <summary>
/// Reads consecutive sectors of a <see cref="DiskImage"/> into a scatter list of guest buffers whose
/// lengths need not be sector multiples: whole sectors go straight from the disk into each buffer, a
/// sector split across two buffers goes through a one-sector bounce buffer the device allocated
/// once. The device feeds it one buffer after the other; nothing is allocated.
/// </summary>
/// <example><code>
/// var reader = new SectorReader(disk, firstSector, bounce);   // bounce: DiskImage.SectorSize bytes
/// foreach (Span&lt;byte&gt; buffer in buffers)
///     if (!reader.TryFill(buffer))
///         return false;                                       // a host I/O error
/// </code></example>
public ref struct SectorReader
{
    private readonly DiskImage _disk;
    private readonly Span<byte> _bounce;
    private ulong _sector;
    private int _bounced, _bounceEnd;

    /// <summary>Starts at <paramref name="sector"/>; <paramref name="bounce"/> holds one sector.</summary>
    public SectorReader(DiskImage disk, ulong sector, Span<byte> bounce)
    {
        _disk = disk;
        _sector = sector;
        _bounce = bounce;
    }

    /// <summary>Fills <paramref name="bytes"/> with the next bytes of the disk. False on a host I/O error.</summary>
    public bool TryFill(Span<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_bounced < _bounceEnd)
            {
                // The rest of a sector that straddled the previous buffer.
                int n = Math.Min(_bounceEnd - _bounced, bytes.Length);
                _bounce.Slice(_bounced, n).CopyTo(bytes);
                _bounced += n;
                bytes = bytes[n..];
            }
            else if (bytes.Length >= DiskImage.SectorSize)
            {
                int whole = bytes.Length & ~(DiskImage.SectorSize - 1);
                if (!_disk.TryRead(_sector, bytes[..whole]))
                    return false;
                _sector += (ulong)(whole / DiskImage.SectorSize);
                bytes = bytes[whole..];
            }
            else
            {
                if (!_disk.TryRead(_sector++, _bounce))
                    return false;
                _bounced = 0;
                _bounceEnd = DiskImage.SectorSize;
            }
        }
        return true;
    }
}
