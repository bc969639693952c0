using System;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;

namespace ParaVirt.Devices.Emulated.Ide;

/// <summary>How one DMA transfer ended.</summary>
public enum IdeDmaOutcome
{
    /// <summary>Every byte of the command moved.</summary>
    Complete,

    /// <summary>The table ended (EOT) before the command's bytes did: PIIX clears Active and the drive keeps waiting for data.</summary>
    TableTooShort,

    /// <summary>The table or a region was invalid (see <see cref="IdeDmaError"/>).</summary>
    BusError,

    /// <summary>The host could not read or write the disk file.</summary>
    DiskError,
}

/// <summary>
/// Moves one command's sectors between the disk and guest memory along a PRD table: for READ DMA
/// it reads the sectors from the disk and scatters them over the regions; for WRITE DMA it gathers
/// the regions and writes the sectors only once all of them were gathered (a table too short or
/// invalid writes nothing). Every guest access is a bounds-checked copy through the VM's writable
/// view of RAM; the staging buffer (128 KiB, the largest LBA28 transfer) is allocated once.
/// </summary>
/// <example><code>
/// var engine = new IdeDmaEngine();
/// IdeDmaOutcome outcome = engine.Transfer(memory, ref walker, disk, sector: 0, sectors: 8, toMemory: true, out IdeDmaError error);
/// </code></example>
public sealed class IdeDmaEngine
{
    /// <summary>The largest transfer of one command: 256 sectors (LBA28, sector count 0).</summary>
    public const int MaxSectors = 256;

    private readonly byte[] _staging = new byte[MaxSectors * DiskImage.SectorSize];
    private long _bytes;

    /// <summary>Bytes moved between guest memory and the staging buffer, over the engine's life.</summary>
    public long BytesMoved => _bytes;

    /// <summary>
    /// Transfers <paramref name="sectors"/> (1 to <see cref="MaxSectors"/>) sectors from
    /// <paramref name="sector"/>, the caller having checked that they lie on the disk.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sectors"/> is out of range (a caller's bug, not the guest's).</exception>
    public IdeDmaOutcome Transfer(GuestMemory memory, ref PrdTableWalker walker, DiskImage disk, ulong sector, int sectors, bool toMemory, out IdeDmaError error)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sectors, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sectors, MaxSectors);
        error = IdeDmaError.None;
        Span<byte> data = _staging.AsSpan(0, sectors * DiskImage.SectorSize);
        if (toMemory && !disk.TryRead(sector, data))
            return IdeDmaOutcome.DiskError;
        int done = 0;
        while (done < data.Length)
        {
            if (!walker.TryTake(memory, data.Length - done, out ulong address, out int length, out error))
                return error == IdeDmaError.None ? IdeDmaOutcome.TableTooShort : IdeDmaOutcome.BusError;
            Span<byte> piece = data.Slice(done, length);
            bool copied = toMemory ? memory.TryWrite(address, piece) : memory.TryRead(address, piece);
            if (!copied)
            {
                // The region was inside RAM when its entry was loaded; the memory went away since.
                error = IdeDmaError.RegionOutsideMemory;
                return IdeDmaOutcome.BusError;
            }
            done += length;
            _bytes += length;
        }
        if (!toMemory && !disk.TryWrite(sector, data))
            return IdeDmaOutcome.DiskError;
        return IdeDmaOutcome.Complete;
    }
}
