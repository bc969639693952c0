using System;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Virtio;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// Moves whole sectors between a <see cref="DiskImage"/> and a virtio request's scatter list of guest
/// buffers, through <see cref="SectorReader"/> and <see cref="SectorWriter"/> (a sector split across
/// buffers goes through a one-sector bounce buffer the device allocated once).
/// </summary>
internal static class SectorTransfer
{
    /// <summary>
    /// Writes the bytes of <paramref name="buffers"/>, after skipping <paramref name="skip"/> bytes, to
    /// the disk from <paramref name="sector"/>. The caller checked that the byte count is a multiple of
    /// 512 and that the range lies on the disk. False on a host I/O error or an unmappable buffer.
    /// </summary>
    public static bool ToDisk(DiskImage disk, GuestMemory memory, ReadOnlySpan<VirtqBuffer> buffers, ulong skip, ulong sector, Span<byte> bounce)
    {
        var writer = new SectorWriter(disk, sector, bounce);
        foreach (VirtqBuffer buffer in buffers)
        {
            if (skip >= buffer.Length)
            {
                skip -= buffer.Length;
                continue;
            }
            if (!memory.TryGetSpan(buffer.Address, buffer.Length, out Span<byte> bytes) || !writer.TryDrain(bytes[(int)skip..]))
                return false;
            skip = 0;
        }
        return writer.EndsOnSector;
    }

    /// <summary>
    /// Reads sectors from <paramref name="sector"/> into <paramref name="buffers"/>, filling at most
    /// <paramref name="length"/> bytes (a multiple of 512 the caller checked against the disk).
    /// False on a host I/O error or an unmappable buffer.
    /// </summary>
    public static bool FromDisk(DiskImage disk, GuestMemory memory, ReadOnlySpan<VirtqBuffer> buffers, ulong length, ulong sector, Span<byte> bounce)
    {
        var reader = new SectorReader(disk, sector, bounce);
        foreach (VirtqBuffer buffer in buffers)
        {
            if (length == 0)
                break;
            ulong take = Math.Min(buffer.Length, length);
            if (!memory.TryGetSpan(buffer.Address, take, out Span<byte> bytes) || !reader.TryFill(bytes))
                return false;
            length -= take;
        }
        return true;
    }
}
