using System;
using System.IO;
using Microsoft.Win32.SafeHandles;

namespace ParaVirt.Core.Storage;

/// <summary>
/// A disk backed by a real file, in 512-byte sectors, through <see cref="RandomAccess"/>. The
/// emulated ATA disk and virtio-blk share it, so full and para guests see the same bytes. Methods
/// return false on any host I/O error or out-of-range request instead of throwing: the device turns
/// that into the guest-visible error status. No allocation per request.
/// </summary>
/// <example>
/// <code>
/// using var disk = DiskImage.Create("disk.img", sectors: 8192);  // 4 MiB, zero filled
/// Span&lt;byte&gt; sector = stackalloc byte[DiskImage.SectorSize];
/// bool ok = disk.TryRead(0, sector);
/// </code>
/// </example>
public sealed class DiskImage : IDisposable
{
    /// <summary>Bytes per sector.</summary>
    public const int SectorSize = 512;

    private readonly SafeFileHandle _handle;
    private readonly FileStream? _flushStream;

    private DiskImage(SafeFileHandle handle, string path, bool readOnly)
    {
        _handle = handle;
        Path = path;
        ReadOnly = readOnly;
        long length = RandomAccess.GetLength(handle);
        SectorCount = (ulong)(length / SectorSize);
        _flushStream = readOnly ? null : new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
    }

    /// <summary>Opens an existing image file. Its size is rounded down to whole sectors.</summary>
    /// <exception cref="IOException">The file cannot be opened (missing, no permission).</exception>
    public static DiskImage Open(string path, bool readOnly = false)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.Read);
        return new DiskImage(handle, path, readOnly);
    }

    /// <summary>Creates (or truncates) an image of <paramref name="sectors"/> zero sectors.</summary>
    public static DiskImage Create(string path, ulong sectors)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        RandomAccess.SetLength(handle, checked((long)sectors * SectorSize));
        return new DiskImage(handle, path, readOnly: false);
    }

    /// <summary>The file behind the disk.</summary>
    public string Path { get; }

    /// <summary>Whether writes are refused.</summary>
    public bool ReadOnly { get; }

    /// <summary>The disk size in sectors.</summary>
    public ulong SectorCount { get; }

    /// <summary>Whether <paramref name="count"/> sectors from <paramref name="sector"/> lie on the disk (overflow-safe).</summary>
    public bool Contains(ulong sector, ulong count) => sector <= SectorCount && count <= SectorCount - sector;

    /// <summary>Reads whole sectors at <paramref name="sector"/> into <paramref name="destination"/> (a multiple of 512 bytes).</summary>
    public bool TryRead(ulong sector, Span<byte> destination)
    {
        if (destination.Length % SectorSize != 0 || !Contains(sector, (ulong)(destination.Length / SectorSize)))
            return false;
        try
        {
            long offset = (long)sector * SectorSize;
            while (!destination.IsEmpty)
            {
                int n = RandomAccess.Read(_handle, destination, offset);
                if (n <= 0)
                    return false;
                destination = destination[n..];
                offset += n;
            }
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Writes whole sectors at <paramref name="sector"/> from <paramref name="source"/> (a multiple of 512 bytes).</summary>
    public bool TryWrite(ulong sector, ReadOnlySpan<byte> source)
    {
        if (ReadOnly || source.Length % SectorSize != 0 || !Contains(sector, (ulong)(source.Length / SectorSize)))
            return false;
        try
        {
            RandomAccess.Write(_handle, source, (long)sector * SectorSize);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Makes every completed write durable (fsync).</summary>
    public bool TryFlush()
    {
        if (_flushStream is null)
            return true;
        try
        {
            _flushStream.Flush(flushToDisk: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        _flushStream?.Dispose();
        _handle.Dispose();
    }
}
