using System;
using System.Buffers.Binary;
using ParaVirt.Image;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// The .pvimg reader (<see cref="PvImageReader.Read"/>) on arbitrary files. Oracle: only
/// <see cref="InvalidImageException"/> escapes; the reader allocates at most
/// <see cref="AllocationFactor"/> times the file size plus <see cref="AllocationSlack"/> bytes;
/// an accepted image is consistent (memory size within <see cref="PvImageFormat.MaxMemorySize"/>,
/// sections inside the image, in order, not overlapping, data no longer than the section, entry
/// inside executable data).
/// </summary>
/// <remarks>
/// Input: one flags byte, then the file. Flags bit 0 set: the harness writes the file's real size
/// and checksum into its header first, so that mutations get past the checksum to the section
/// table (a fuzzer cannot find a CRC-32 by mutation).
/// </remarks>
public sealed class PvImageTarget : IFuzzTarget
{
    /// <summary>Allowed allocation per input byte.</summary>
    public const long AllocationFactor = 4;

    /// <summary>Allowed allocation on top of the per-byte allowance (messages, the section list).</summary>
    public const long AllocationSlack = 16 * 1024;

    private byte[] _file = new byte[64 * 1024];

    /// <inheritdoc/>
    public string Name => "pvimg";

    /// <inheritdoc/>
    public void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInput(input);
        byte flags = reader.U8();
        ReadOnlySpan<byte> raw = reader.Rest();
        if (_file.Length < raw.Length)
            _file = new byte[raw.Length];
        Span<byte> file = _file.AsSpan(0, raw.Length);
        raw.CopyTo(file);
        if ((flags & 1) != 0 && file.Length >= PvImageFormat.HeaderSize)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(file[PvImageFormat.FileSizeOffset..], (ulong)file.Length);
            PvImageFormat.UpdateChecksum(file);
        }

        PvImage? image = null;
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            image = PvImageReader.Read(file, "fuzz.pvimg");
        }
        catch (InvalidImageException)
        {
            // The one defined failure.
        }
        catch (Exception ex)
        {
            throw new OracleViolationException($"PvImageReader.Read let {ex.GetType().Name} escape: {ex.Message}", ex);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long limit = AllocationFactor * file.Length + AllocationSlack;
        OracleViolationException.Check(allocated <= limit,
            $"PvImageReader.Read allocated {allocated} bytes for a {file.Length}-byte file (limit {limit})");
        if (image is not null)
            CheckConsistent(image);
    }

    private static void CheckConsistent(PvImage image)
    {
        ulong end = image.LoadAddress + image.MemorySize;
        OracleViolationException.Check(end > image.LoadAddress, "accepted image: memory range wraps");
        OracleViolationException.Check(image.MemorySize <= PvImageFormat.MaxMemorySize, $"accepted image: memory size 0x{image.MemorySize:x} above the 0x{PvImageFormat.MaxMemorySize:x} limit");
        ulong previousEnd = image.LoadAddress;
        bool entryOk = false;
        foreach (PvSection s in image.Sections)
        {
            OracleViolationException.Check(s.Address >= previousEnd, $"accepted image: section {s.Name} overlaps or precedes the one before it");
            OracleViolationException.Check(s.Address + s.MemorySize >= s.Address && s.Address + s.MemorySize <= end, $"accepted image: section {s.Name} lies outside the image");
            OracleViolationException.Check((ulong)s.Data.Length <= s.MemorySize, $"accepted image: section {s.Name} has more data than memory");
            previousEnd = s.Address + s.MemorySize;
            entryOk |= image.Entry >= s.Address && image.Entry - s.Address < (ulong)s.Data.Length && (s.Permissions & SectionPermissions.Execute) != 0;
        }
        OracleViolationException.Check(entryOk, "accepted image: the entry point is not inside executable data");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
