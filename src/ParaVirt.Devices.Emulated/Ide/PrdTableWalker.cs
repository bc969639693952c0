using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Emulated.Ide;

/// <summary>
/// The bus-master engine's position in a guest's PRD table: the entry it loads next and what is left
/// of the current region. It hands out pieces of regions in table order, validating every entry
/// before it is used.
/// </summary>
/// <remarks>
/// <para><b>Validation.</b> An entry is read with a bounds-checked copy: a table reaching outside
/// guest memory stops the walk with <see cref="IdeDmaError.TableOutsideMemory"/>. The table must
/// not cross a 64 KiB boundary (PIIX); the walker refuses to load an entry past the boundary of the
/// table's start (<see cref="IdeDmaError.TableWithoutEnd"/>), so a table without EOT, or one a hostile
/// guest keeps rewriting, costs at most <see cref="IdeBusMasterRegisters.MaxPrdEntries"/> entry reads.
/// A region is checked against guest memory as a whole when its entry is loaded
/// (<see cref="IdeDmaError.RegionOutsideMemory"/>). As on a PIIX, bit 0 of the address and of the byte
/// count is ignored, and a byte count of 0 means 64 KiB: a "zero-length" entry is a 64 KiB region.</para>
/// <para><b>Cost.</b> At most one entry read per region, no allocation.</para>
/// </remarks>
/// <example><code>
/// var walker = new PrdTableWalker();
/// walker.Restart(tableAddress);                       // the start bit's 0-to-1 transition
/// while (left &gt; 0 &amp;&amp; walker.TryTake(memory, left, out ulong address, out int length, out IdeDmaError error)) { ... }
/// </code></example>
public struct PrdTableWalker
{
    private ulong _table, _regionAddress;
    private int _nextEntry, _entryLimit, _regionLeft;
    private bool _lastLoaded;

    /// <summary>Starts over at the first entry of the table at <paramref name="tableAddress"/> (dword aligned by the register).</summary>
    public void Restart(ulong tableAddress)
    {
        _table = tableAddress;
        _nextEntry = 0;
        _entryLimit = (int)((0x10000 - (tableAddress & 0xFFFF)) / IdeBusMasterRegisters.PrdEntrySize);
        _regionLeft = 0;
        _regionAddress = 0;
        _lastLoaded = false;
    }

    /// <summary>Entries loaded since the last <see cref="Restart"/>.</summary>
    public readonly int EntriesLoaded => _nextEntry;

    /// <summary>The End Of Table region has been used up: nothing is left to transfer.</summary>
    public readonly bool AtEnd => _lastLoaded && _regionLeft == 0;

    /// <summary>
    /// The next piece of at most <paramref name="wanted"/> bytes (positive): its guest address and
    /// length. False when the table is used up (<paramref name="error"/> None) or invalid (the reason).
    /// </summary>
    public bool TryTake(GuestMemory memory, int wanted, out ulong address, out int length, out IdeDmaError error)
    {
        address = 0;
        length = 0;
        error = IdeDmaError.None;
        if (_regionLeft == 0)
        {
            if (_lastLoaded)
                return false; // the table ended: the transfer is longer than the table
            if (_nextEntry >= _entryLimit)
            {
                error = IdeDmaError.TableWithoutEnd;
                return false;
            }
            ulong entryAddress = _table + (ulong)_nextEntry * IdeBusMasterRegisters.PrdEntrySize;
            if (!memory.TryRead(entryAddress, out ulong entry))
            {
                error = IdeDmaError.TableOutsideMemory;
                return false;
            }
            _nextEntry++;
            ulong regionAddress = (uint)entry & ~1u;
            int count = (int)((entry >> 32) & 0xFFFE);
            if (count == 0)
                count = 0x10000;
            if (!memory.IsValid(regionAddress, (ulong)count))
            {
                error = IdeDmaError.RegionOutsideMemory;
                return false;
            }
            _regionAddress = regionAddress;
            _regionLeft = count;
            _lastLoaded = ((entry >> 32) & IdeBusMasterRegisters.PrdEndOfTable) != 0;
        }
        length = wanted < _regionLeft ? wanted : _regionLeft;
        address = _regionAddress;
        _regionAddress += (ulong)length;
        _regionLeft -= length;
        return true;
    }
}
