using System.Runtime.CompilerServices;
using ParaVirt.Core.Memory;
using static ParaVirt.Cpu.Shadow.PageTableBits;

namespace ParaVirt.Cpu.Shadow;

/// <summary>What a walk of the guest's own page tables found.</summary>
internal enum GuestWalkStatus
{
    /// <summary>The guest's tables map the address with the access's permissions.</summary>
    Mapped,
    /// <summary>An entry on the way is not present.</summary>
    NotPresent,
    /// <summary>The mapping exists but forbids the access (a write to a read-only page, a fetch from a no-execute page).</summary>
    Protection,
    /// <summary>An entry is malformed for this platform: a frame outside guest RAM, or a large-page bit (guest mappings are 4 KiB pages).</summary>
    Reserved,
}

/// <summary>Four values, one per paging level (index 0 = PML4 entry ... 3 = page-table entry).</summary>
[InlineArray(4)]
internal struct LevelValues
{
    private ulong _element;
}

/// <summary>
/// One walk of the guest's 4-level tables for one address: the entries on the way (their
/// guest-physical addresses and values), the accumulated permissions, and the frame found.
/// A value type filled in place: nothing is allocated per walk.
/// </summary>
internal struct GuestPageWalk
{
    public GuestWalkStatus Status;

    /// <summary>Levels walked: 4 = stopped at the PML4 entry ... 1 = reached the page-table entry.</summary>
    public int StoppedAtLevel;

    /// <summary>Guest-physical address of the entry read at each level (index 0 = PML4E).</summary>
    public LevelValues EntryAddress;

    /// <summary>Value of the entry read at each level (index 0 = PML4E).</summary>
    public LevelValues Entry;

    /// <summary>AND of the R/W bits on the way.</summary>
    public bool Writable;

    /// <summary>OR of the NX bits on the way.</summary>
    public bool NoExecute;

    /// <summary>The guest-physical frame the address maps to (Mapped and Protection).</summary>
    public ulong Frame;

    /// <summary>
    /// Walks from the guest table at <paramref name="root"/> (a RAM frame) for <paramref name="address"/>.
    /// Every table and every frame must lie in [<paramref name="ramStart"/>, <paramref name="ramEnd"/>):
    /// anything else is <see cref="GuestWalkStatus.Reserved"/>, never a host access outside RAM.
    /// Exactly four entries are read at most, so a table that points at itself (or a loop of tables)
    /// ends like any other walk.
    /// </summary>
    public static void Walk(GuestMemory memory, ulong ramStart, ulong ramEnd, ulong root, ulong address, bool write, bool fetch, out GuestPageWalk walk)
    {
        walk = default;
        walk.Writable = true;
        ulong table = root;
        for (int level = 4; level >= 1; level--)
        {
            int i = 4 - level;
            walk.StoppedAtLevel = level;
            ulong entryAddress = table + (ulong)Index(address, level) * 8;
            walk.EntryAddress[i] = entryAddress;
            if (!memory.TryRead(entryAddress, out ulong entry))
            {
                walk.Status = GuestWalkStatus.Reserved; // not reachable: table frames are checked to be RAM
                return;
            }
            walk.Entry[i] = entry;
            if ((entry & Present) == 0)
            {
                walk.Status = GuestWalkStatus.NotPresent;
                return;
            }
            ulong frame = entry & FrameMask;
            if ((level > 1 && (entry & Large) != 0) || frame < ramStart || frame >= ramEnd)
            {
                walk.Status = GuestWalkStatus.Reserved;
                return;
            }
            walk.Writable &= (entry & PageTableBits.Writable) != 0;
            walk.NoExecute |= (entry & PageTableBits.NoExecute) != 0;
            table = frame;
        }
        walk.Frame = table;
        walk.Status = (write && !walk.Writable) || (fetch && walk.NoExecute) ? GuestWalkStatus.Protection : GuestWalkStatus.Mapped;
    }

    /// <summary>
    /// The error code the guest's #PF handler sees for this walk: present (a protection fault),
    /// write and fetch as the access was, reserved for a malformed entry; never the user bit (the
    /// guest kernel runs at virtual CPL 0).
    /// </summary>
    public readonly uint GuestErrorCode(bool write, bool fetch) =>
        (Status is GuestWalkStatus.Protection or GuestWalkStatus.Reserved ? ErrorPresent : 0) |
        (Status == GuestWalkStatus.Reserved ? ErrorReserved : 0) |
        (write ? ErrorWrite : 0) | (fetch ? ErrorFetch : 0);
}
