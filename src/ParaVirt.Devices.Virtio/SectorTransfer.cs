using System;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Virtio;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// Moves whole sectors between a <see cref="DiskImage"/> and a scatter list of guest buffers whose
/// lengths need not be sector multiples: aligned runs go straight between the disk and guest memory,
/// a sector split across buffers goes through a one-sector bounce buffer the device allocated once.
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
        int partial = 0;
        foreach (VirtqBuffer buffer in buffers)
        {
            if (skip >= buffer.Length)
            {
                skip -= buffer.Length;
                continue;
            }
            if (!memory.TryGetSpan(buffer.Address, buffer.Length, out Span<byte> bytes))
                return false;
            bytes = bytes[(int)skip..];
            skip = 0;
            while (!bytes.IsEmpty)
            {
                if (partial > 0 || bytes.Length < DiskImage.SectorSize)
                {
                    int n = Math.Min(DiskImage.SectorSize - partial, bytes.Length);
                    bytes[..n].CopyTo(bounce[partial..]);
                    partial += n;
                    bytes = bytes[n..];
                    if (partial == DiskImage.SectorSize)
                    {
                        if (!disk.TryWrite(sector++, bounce))
                            return false;
                        partial = 0;
                    }
                }
                else
                {
                    int whole = bytes.Length & ~(DiskImage.SectorSize - 1);
                    if (!disk.TryWrite(sector, bytes[..whole]))
                        return false;
                    sector += (ulong)(whole / DiskImage.SectorSize);
                    bytes = bytes[whole..];
                }
            }
        }
        return partial == 0;
    }

    /// <summary>
    /// Reads sectors from <paramref name="sector"/> into <paramref name="buffers"/>, filling at most
    /// <paramref name="length"/> bytes (a multiple of 512 the caller checked against the disk).
    /// False on a host I/O error or an unmappable buffer.
    /// </summary>
    public static bool FromDisk(DiskImage disk, GuestMemory memory, ReadOnlySpan<VirtqBuffer> buffers, ulong length, ulong sector, Span<byte> bounce)
    {
        int bounced = 0, bounceEnd = 0;
        foreach (VirtqBuffer buffer in buffers)
        {
            if (length == 0)
                break;
            ulong take = Math.Min(buffer.Length, length);
            if (!memory.TryGetSpan(buffer.Address, take, out Span<byte> bytes))
                return false;
            length -= take;
            while (!bytes.IsEmpty)
            {
                if (bounced < bounceEnd)
                {
                    int n = Math.Min(bounceEnd - bounced, bytes.Length);
                    bounce.Slice(bounced, n).CopyTo(bytes);
                    bounced += n;
                    bytes = bytes[n..];
                }
                else if (bytes.Length >= DiskImage.SectorSize)
                {
                    int whole = bytes.Length & ~(DiskImage.SectorSize - 1);
                    if (!disk.TryRead(sector, bytes[..whole]))
                        return false;
                    sector += (ulong)(whole / DiskImage.SectorSize);
                    bytes = bytes[whole..];
                }
                else
                {
                    if (!disk.TryRead(sector++, bounce))
                        return false;
                    bounced = 0;
                    bounceEnd = DiskImage.SectorSize;
                }
            }
        }
        return true;
    }
}
