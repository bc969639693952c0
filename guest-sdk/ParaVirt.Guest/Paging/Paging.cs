using Internal.Runtime;
using ParaVirt.Abi;

namespace ParaVirt.Guest;

/// <summary>
/// The address-space seam, like <see cref="Cpu"/>: drivers and workloads call it and are written
/// once; the build picks the flavour. Full (<c>PARAVIRT_FULL</c>): ordinary x86-64 4-level tables in
/// guest RAM written with plain stores, <c>mov cr3</c> and <c>invlpg</c> (privileged: they trap and
/// the host's shadow paging emulates them). Para (<c>PARAVIRT_PARA</c>): the tables are the real
/// ones and read-only to the guest; changes are queued in <see cref="ParaMmuBatch"/> and sent,
/// validated, in one exit at <see cref="Commit"/>, at a switch, at a flush, or when the batch fills.
/// </summary>
/// <remarks>
/// <para>Layout: PML4 slot 0 (0 to 512 GiB) is the platform's identity map of RAM, shared by every
/// address space and supplied by the host (a guest leaves slot 0 of its own roots empty); guest
/// mappings live in slots 1 to 255, in 4 KiB pages.</para>
/// <para>Para semantics: reads of the tables (<see cref="AddressSpace.Lookup"/>) see committed
/// state only. The host guarantees that no stale translation of an entry it changed survives the
/// commit, so an unmap needs no separate flush.</para>
/// </remarks>
/// <example><code>
/// AddressSpace space = AddressSpace.Create();
/// space.Map(0x80_0000_0000, Frames.Allocate(), PageFlags.Writable);
/// space.Switch();                      // commits (para) and loads it
/// *(ulong*)0x80_0000_0000 = 42;
/// </code></example>
public static unsafe class Paging
{
    /// <summary>Entry bit: present.</summary>
    public const ulong Present = 1;

    /// <summary>Entry bit: writable.</summary>
    public const ulong Writable = 2;

    /// <summary>Entry bit: user (CPL3) access.</summary>
    public const ulong User = 4;

    /// <summary>Entry bits 12-51: the frame.</summary>
    public const ulong FrameMask = 0x000F_FFFF_FFFF_F000UL;

    /// <summary>The first virtual address a guest may map (PML4 slot 1).</summary>
    public const ulong GuestSpaceStart = 512UL << 30;

    /// <summary>One past the last virtual address a guest may map (end of PML4 slot 255).</summary>
    public const ulong GuestSpaceEnd = 256UL * (512UL << 30);

    /// <summary>Page-fault error code bits: present (a protection fault), write, user, reserved bit, instruction fetch.</summary>
    public const ulong FaultPresent = 1, FaultWrite = 2, FaultUser = 4, FaultReserved = 8, FaultFetch = 16;

    private static ulong s_currentRoot;
#if !PARAVIRT_PARA
    private static ulong s_platformRoot;
#endif

    /// <summary>The address space the vCPU runs on (<see cref="AddressSpace.Platform"/> at start).</summary>
    public static AddressSpace Current => AddressSpace.FromRoot(s_currentRoot);

    /// <summary>
    /// Whether the host virtualizes the guest's page tables: it announces <see cref="HypercallFeatures.Mmu"/>
    /// (para: the paravirtual MMU's hypercalls; full: shadow paging is attached, so <c>mov cr3</c>
    /// and <c>invlpg</c> take effect). One hypercall.
    /// </summary>
    public static bool Available => (Hypercalls.GetFeatures() & HypercallFeatures.Mmu) != 0;

    /// <summary>Para: sends the queued updates and commands (one exit); returns 0 or the first error status. Full: nothing to send.</summary>
    public static long Commit()
    {
#if PARAVIRT_PARA
        return ParaMmuBatch.Commit();
#else
        return 0;
#endif
    }

    /// <summary>Runs the vCPU on <paramref name="space"/> (<see cref="AddressSpace.Platform"/>: the platform's root).</summary>
    public static void Switch(AddressSpace space)
    {
#if PARAVIRT_PARA
        ParaMmuBatch.QueueExt(MmuExtCommand.NewBasePointer, space.Root);
        if (ParaMmuBatch.Commit() != 0)
            Guest.FailFast("Paging.Switch: the host refused the base pointer");
#else
        if (s_platformRoot == 0)
            s_platformRoot = Cpu.ReadCr3();
        Cpu.WriteCr3(space.IsPlatform ? s_platformRoot : space.Root);
#endif
        s_currentRoot = space.Root;
    }

    /// <summary>Drops every cached translation (para: queued and committed; full: a CR3 reload).</summary>
    public static void Flush()
    {
#if PARAVIRT_PARA
        ParaMmuBatch.QueueExt(MmuExtCommand.FlushTlb, 0);
        ParaMmuBatch.Commit();
#else
        if (s_platformRoot == 0)
            s_platformRoot = Cpu.ReadCr3();
        Cpu.WriteCr3(s_currentRoot == 0 ? s_platformRoot : s_currentRoot);
#endif
    }

    /// <summary>Drops the cached translation of one page (para: queued with the next commit; full: <c>invlpg</c>).</summary>
    public static void FlushPage(ulong address)
    {
#if PARAVIRT_PARA
        ParaMmuBatch.QueueExt(MmuExtCommand.InvalidatePage, address);
#else
        PrivilegedInstructions.Invlpg(address);
#endif
    }

    /// <summary>
    /// Installs <paramref name="handler"/>(address, errorCode) as the page-fault handler. Full: the
    /// virtual IDT's vector 14 (the host reflects faults its shadow cannot explain, with the virtual
    /// CR2). Para: registered with <see cref="Hypercall.SetPageFaultHandler"/>. The handler may map
    /// the page and return: the faulting instruction runs again. A fault inside the handler is a
    /// double fault in para mode (the VM stops with the reason).
    /// </summary>
    public static void SetPageFaultHandler(delegate* unmanaged<ulong, ulong, void> handler)
    {
#if PARAVIRT_PARA
        ulong flag = GuestEnvironment.StartInfo->SharedInfo + 24; // SharedInfo.InPageFault
        byte* stub = PageFaultStubs.Build(handler, flag);
        if (RawHypercall.Call(Hypercall.SetPageFaultHandler, (ulong)stub) != 0)
            Guest.FailFast("Paging.SetPageFaultHandler: the host refused the handler");
#else
        Events.Install();
        Events.SetGate(14, PageFaultStubs.Build(handler, 0));
#endif
    }

    /// <summary>Writes (full) or queues (para) <paramref name="value"/> into the entry at <paramref name="entry"/>; full flavour invalidates <paramref name="address"/> when a present entry changes.</summary>
    internal static void SetEntry(ulong* entry, ulong value, ulong address, bool leaf)
    {
#if PARAVIRT_PARA
        ParaMmuBatch.QueueUpdate((ulong)entry, value);
#else
        ulong old = *entry;
        *entry = value;
        if (leaf && (old & Present) != 0)
            PrivilegedInstructions.Invlpg(address);
#endif
    }

    /// <summary>Para: queues a pin of <paramref name="frame"/> as a level-<paramref name="level"/> table. Full: nothing (any frame may be a table).</summary>
    internal static void PinTable(ulong frame, int level)
    {
#if PARAVIRT_PARA
        ParaMmuBatch.QueueExt((MmuExtCommand)(ulong)level, frame);
#endif
    }

    /// <summary>Para: queues an unpin. Full: nothing.</summary>
    internal static void UnpinTable(ulong frame)
    {
#if PARAVIRT_PARA
        ParaMmuBatch.QueueExt(MmuExtCommand.Unpin, frame);
#endif
    }
}
