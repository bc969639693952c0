namespace ParaVirt.Guest;

/// <summary>
/// One guest address space: a level-4 table (its root) and the tables below it, built from
/// <see cref="Frames"/>, mapping 4 KiB pages in PML4 slots 1 to 255 (see <see cref="Paging"/>).
/// The same code in both flavours; <see cref="Paging"/> decides how an entry is written.
/// Intermediate tables are created on demand (para: pinned, committed at once so later walks
/// see them) and kept until <see cref="Destroy"/>. A value type naming its root: the guest runtime
/// has no GC statics, so an address space can live in a static field; <c>default</c> is
/// <see cref="Platform"/>, the platform's own root a guest starts on.
/// </summary>
/// <example><code>
/// AddressSpace space = AddressSpace.Create();
/// for (ulong i = 0; i &lt; 64; i++)
///     space.Map(Base + i * 4096, Frames.Allocate(), PageFlags.Writable);
/// Paging.Commit();                          // para: one exit for all 64
/// </code></example>
public readonly unsafe struct AddressSpace
{
    private const ulong TableFlags = Paging.Present | Paging.Writable | Paging.User;

    private AddressSpace(ulong root) => Root = root;

    /// <summary>Guest-physical address of the level-4 table (what CR3 holds while it runs); 0 for <see cref="Platform"/>.</summary>
    public ulong Root { get; }

    /// <summary>The platform's own root (the address space a guest starts on); also what a failed <see cref="Create"/> returns.</summary>
    public static AddressSpace Platform => default;

    /// <summary>The address space whose level-4 table is at <paramref name="root"/> (0: <see cref="Platform"/>).</summary>
    public static AddressSpace FromRoot(ulong root) => new(root);

    /// <summary>Whether this is <see cref="Platform"/> (no guest-built root).</summary>
    public bool IsPlatform => Root == 0;

    /// <summary>A new, empty address space (para: its root is pinned with the next commit); <see cref="Platform"/> when no frame is left.</summary>
    public static AddressSpace Create()
    {
        ulong root = Frames.Allocate();
        if (root == 0)
            return default;
        Paging.PinTable(root, 4);
        return new AddressSpace(root);
    }

    /// <summary>Whether <paramref name="address"/> is a page-aligned address a guest may map.</summary>
    public static bool IsMappable(ulong address) =>
        (address & 0xFFF) == 0 && address >= Paging.GuestSpaceStart && address < Paging.GuestSpaceEnd;

    private static int Index(ulong address, int level) => (int)((address >> (12 + 9 * (level - 1))) & 511);

    /// <summary>The level-1 entry of <paramref name="address"/>, creating missing tables when <paramref name="create"/>; null if absent or out of frames.</summary>
    public ulong* Entry(ulong address, bool create)
    {
        if (Root == 0 || !IsMappable(address & ~0xFFFUL))
            return null;
        ulong table = Root;
        for (int level = 4; level > 1; level--)
        {
            ulong* entry = (ulong*)table + Index(address, level);
            ulong value = *entry;
            if ((value & Paging.Present) == 0)
            {
                if (!create)
                    return null;
                ulong frame = Frames.Allocate();
                if (frame == 0)
                    return null;
                Paging.PinTable(frame, level - 1);
                Paging.SetEntry(entry, frame | TableFlags, address, leaf: false);
                // Para: later walks read the tables, so a new table is committed now (one exit
                // per new table level; a 2 MiB range needs at most three).
                Paging.Commit();
                value = frame | TableFlags;
            }
            table = value & Paging.FrameMask;
        }
        return (ulong*)table + Index(address, 1);
    }

    /// <summary>Maps <paramref name="frame"/> at <paramref name="address"/>; false if the address is not mappable or frames ran out.</summary>
    public bool Map(ulong address, ulong frame, PageFlags flags)
    {
        ulong* entry = Entry(address, true);
        if (entry == null)
            return false;
        Paging.SetEntry(entry, (frame & Paging.FrameMask) | Paging.Present | Paging.User | (ulong)flags, address, leaf: true);
        return true;
    }

    /// <summary>Unmaps <paramref name="address"/>; false if no table covers it.</summary>
    public bool Unmap(ulong address)
    {
        ulong* entry = Entry(address, false);
        if (entry == null)
            return false;
        Paging.SetEntry(entry, 0, address, leaf: true);
        return true;
    }

    /// <summary>Changes the rights of the page mapped at <paramref name="address"/> (committed state); false if it is not mapped.</summary>
    public bool Protect(ulong address, PageFlags flags)
    {
        ulong* entry = Entry(address, false);
        if (entry == null || (*entry & Paging.Present) == 0)
            return false;
        Paging.SetEntry(entry, (*entry & Paging.FrameMask) | Paging.Present | Paging.User | (ulong)flags, address, leaf: true);
        return true;
    }

    /// <summary>The level-1 entry mapping <paramref name="address"/> (committed state), 0 if none.</summary>
    public ulong Lookup(ulong address)
    {
        ulong* entry = Entry(address, false);
        return entry == null ? 0 : *entry;
    }

    /// <summary>Runs the vCPU on this address space.</summary>
    public void Switch() => Paging.Switch(this);

    /// <summary>
    /// Tears the tables down (para: unlinked, unpinned and committed in one exit) and frees their
    /// frames. The frames the space mapped are the caller's. Not the current address space.
    /// </summary>
    public void Destroy()
    {
        if (Root == 0 || Paging.Current.Root == Root)
            Guest.FailFast("AddressSpace.Destroy: the platform's root, or the address space in use");
        ulong* frames = stackalloc ulong[64];
        int count = 0;
        ulong* l4 = (ulong*)Root;
        for (int i4 = 1; i4 < 256; i4++)
        {
            if ((l4[i4] & Paging.Present) == 0)
                continue;
            ulong* l3 = (ulong*)(l4[i4] & Paging.FrameMask);
            for (int i3 = 0; i3 < 512; i3++)
            {
                if ((l3[i3] & Paging.Present) == 0)
                    continue;
                ulong* l2 = (ulong*)(l3[i3] & Paging.FrameMask);
                for (int i2 = 0; i2 < 512; i2++)
                {
                    if ((l2[i2] & Paging.Present) == 0)
                        continue;
                    ulong l1 = l2[i2] & Paging.FrameMask;
                    Release(&l2[i2], l1, frames, ref count);
                }
                Release(&l3[i3], (ulong)l2, frames, ref count);
            }
            Release(&l4[i4], (ulong)l3, frames, ref count);
        }
        Paging.UnpinTable(Root);
        frames[count++] = Root;
        Flush(frames, ref count);
    }

    /// <summary>Unlinks the table <paramref name="table"/> from its parent entry and unpins it; its frame is freed after the commit.</summary>
    private static void Release(ulong* parentEntry, ulong table, ulong* frames, ref int count)
    {
        if (count == 63)
            Flush(frames, ref count);
        Paging.SetEntry(parentEntry, 0, 0, leaf: false);
        Paging.UnpinTable(table);
        frames[count++] = table;
    }

    private static void Flush(ulong* frames, ref int count)
    {
        Paging.Commit();
        for (int i = 0; i < count; i++)
            Frames.Free(frames[i]);
        count = 0;
    }
}
