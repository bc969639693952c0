using System;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>
/// Moves whole sectors between a <see cref="DiskImage"/> and the PRP segments of a command. A
/// segment that starts at a dword offset inside a page is not a sector multiple: the sector that
/// straddles two segments goes through a one-sector bounce buffer the controller allocated once.
/// Page-aligned segments (what drivers build) go straight between the disk and guest memory.
/// </summary>
internal static class NvmeDataTransfer
{
    /// <summary>Reads sectors from <paramref name="sector"/> into the segments (whose lengths sum to a sector multiple). False on a host I/O error.</summary>
    public static bool FromDisk(DiskImage disk, GuestMemory memory, ReadOnlySpan<PrpSegment> segments, ulong sector, Span<byte> bounce)
    {
        int bounced = 0, bounceEnd = 0;
        foreach (PrpSegment segment in segments)
        {
            // Invariant: the walker checked each segment with IsValid; on the vCPU thread the span stays mapped.
            if (!memory.TryGetSpan(segment.Address, segment.Length, out Span<byte> bytes))
                return false;
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

    /// <summary>Writes the segments' bytes (a sector multiple in total) to the disk from <paramref name="sector"/>. False on a host I/O error.</summary>
    public static bool ToDisk(DiskImage disk, GuestMemory memory, ReadOnlySpan<PrpSegment> segments, ulong sector, Span<byte> bounce)
    {
        int partial = 0;
        foreach (PrpSegment segment in segments)
        {
            if (!memory.TryGetSpan(segment.Address, segment.Length, out Span<byte> bytes))
                return false;
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
}
