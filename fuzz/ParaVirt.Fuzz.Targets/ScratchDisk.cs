using System;
using System.IO;
using ParaVirt.Core.Storage;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// A small disk file a target reuses across inputs: <see cref="Reset"/> writes the known pattern
/// back before each input, <see cref="Snapshot"/> reads the whole file (its length included) to
/// compare against a model. Lives in /dev/shm when there is one, so that inputs do not hit a disk.
/// </summary>
public sealed class ScratchDisk : IDisposable
{
    private readonly byte[] _pattern;

    /// <summary>Creates a disk of <paramref name="sectors"/> sectors.</summary>
    public ScratchDisk(ulong sectors)
    {
        string folder = Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(folder, $"paravirt-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.img");
        Image = DiskImage.Create(Path, sectors);
        _pattern = new byte[checked((int)sectors * DiskImage.SectorSize)];
        for (int i = 0; i < _pattern.Length; i++)
            _pattern[i] = (byte)(i / DiskImage.SectorSize * 37 + i % 251);
        Reset();
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The disk the devices use.</summary>
    public DiskImage Image { get; }

    /// <summary>The size the file must keep, in bytes.</summary>
    public int Length => _pattern.Length;

    /// <summary>The content after <see cref="Reset"/>.</summary>
    public ReadOnlySpan<byte> Pattern => _pattern;

    /// <summary>Writes the pattern over the whole disk.</summary>
    public void Reset()
    {
        if (!Image.TryWrite(0, _pattern))
            throw new IOException($"cannot reset the scratch disk {Path}");
    }

    /// <summary>Reads the file into <paramref name="destination"/> (at least <see cref="Length"/> + 1 bytes); returns the file's length.</summary>
    public long Snapshot(Span<byte> destination)
    {
        using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        long length = RandomAccess.GetLength(handle);
        int n = RandomAccess.Read(handle, destination[..(int)Math.Min(length, destination.Length)], 0);
        return n == length ? length : -1;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Image.Dispose();
        File.Delete(Path);
    }
}
