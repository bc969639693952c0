using System;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>
/// Moves whole sectors between a <see cref="DiskImage"/> and the PRP segments of a command. A
/// segment that starts at a dword offset inside a page is not a sector multiple: the sector that
/// straddles two segments goes through a one-sector bounce buffer the controller allocated once
/// (<see cref="SectorReader"/>, <see cref="SectorWriter"/>). Page-aligned segments (what drivers
/// build) go straight between the disk and guest memory.
/// </summary>
internal static class NvmeDataTransfer
{
    /// <summary>Reads sectors from <paramref name="sector"/> into the segments (whose lengths sum to a sector multiple). False on a host I/O error.</summary>
    public static bool FromDisk(DiskImage disk, GuestMemory memory, ReadOnlySpan<PrpSegment> segments, ulong sector, Span<byte> bounce)
    {
        var reader = new SectorReader(disk, sector, bounce);
        foreach (PrpSegment segment in segments)
        {
            // Invariant: the walker checked each segment with IsValid; on the vCPU thread the span stays mapped.
            if (!memory.TryGetSpan(segment.Address, segment.Length, out Span<byte> bytes) || !reader.TryFill(bytes))
                return false;
        }
        return true;
    }

    /// <summary>Writes the segments' bytes (a sector multiple in total) to the disk from <paramref name="sector"/>. False on a host I/O error.</summary>
    public static bool ToDisk(DiskImage disk, GuestMemory memory, ReadOnlySpan<PrpSegment> segments, ulong sector, Span<byte> bounce)
    {
        var writer = new SectorWriter(disk, sector, bounce);
        foreach (PrpSegment segment in segments)
        {
            if (!memory.TryGetSpan(segment.Address, segment.Length, out Span<byte> bytes) || !writer.TryDrain(bytes))
                return false;
        }
        return writer.EndsOnSector;
    }
}
