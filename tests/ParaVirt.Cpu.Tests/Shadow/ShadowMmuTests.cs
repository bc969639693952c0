using ParaVirt.Cpu.Shadow;
using static ParaVirt.Cpu.Tests.Shadow.ShadowTestRig;

namespace ParaVirt.Cpu.Tests.Shadow;

/// <summary>The shadow MMU over fake guest memory: no KVM needed.</summary>
public class ShadowMmuTests
{
    private const ulong Va = 0x80_0000_0000 + 0x1234_5000; // PML4 slot 1

    [Test]
    public void ReadFaultFillsTheShadowReadOnlyAndSetsAccessedOnly()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong data = rig.NewFrame();
        ulong pte = rig.Map(pml4, Va, data, P | W);
        int flushes = rig.Host.Flushes;

        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));

        ulong leaf = rig.ShadowLeaf(Va);
        Assert.That(leaf & 0x000F_FFFF_FFFF_F000, Is.EqualTo(data));
        Assert.That(leaf & (P | W | U), Is.EqualTo(P | U), "read-only until the guest's D bit is set by a write");
        Assert.That(rig.Read(pte) & (A | D), Is.EqualTo(A));
        for (int level = 4; level >= 2; level--)
            Assert.That(rig.Read(rig.EntryAddress(pml4, Va, level)) & A, Is.EqualTo(A), $"A on level {level}");
        Assert.That(rig.Mmu.HiddenFaults, Is.EqualTo(1));
        Assert.That(rig.Mmu.TrackedFrames, Is.EqualTo(4), "PML4, PDPT, PD, PT are write-protected");
        Assert.That(rig.Host.Protected, Does.Contain(pml4).And.Contain(pte & ~0xFFFUL));
        Assert.That(rig.Host.Protected, Does.Not.Contain(data));
        Assert.That(rig.Host.Flushes, Is.EqualTo(flushes), "a not-present entry filled needs no flush");
        Assert.That(rig.Host.Root, Is.EqualTo(rig.Mmu.CurrentRoot));
        Assert.That(rig.ShadowEntry(rig.Mmu.CurrentRoot, 0), Is.EqualTo(IdentityEntry), "slot 0 is the platform's");
    }

    [Test]
    public void WriteAfterReadSetsDirtyAndMakesTheLeafWritable()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        int flushes = rig.Host.Flushes;

        Assert.That(rig.Fault(Va, ErrP | ErrW | ErrU), Is.EqualTo(ShadowFaultKind.Filled));

        Assert.That(rig.ShadowLeaf(Va) & W, Is.EqualTo(W));
        Assert.That(rig.Read(pte) & (A | D), Is.EqualTo(A | D));
        Assert.That(rig.Host.Flushes, Is.EqualTo(flushes + 1), "a live read-only entry became writable");
        Assert.That(rig.Fault(Va, ErrP | ErrW | ErrU), Is.EqualTo(ShadowFaultKind.Spurious), "the shadow already allows it");
    }

    [Test]
    public void AReadOfAPageWhoseDirtyBitIsSetMapsItWritable()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W | D);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.ShadowLeaf(Va) & W, Is.EqualTo(W));
    }

    [TestCase(false, ErrW)]
    [TestCase(true, ErrW)]
    [TestCase(false, 0u)]
    public void FaultsTheGuestTablesExplainAreReflectedWithTheGuestsErrorCode(bool tablesExist, uint access)
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        if (tablesExist)
            rig.Write(rig.Map(pml4, Va, rig.NewFrame(), P | W), 0); // tables, but the PTE not present
        uint hardware = access | ErrU;

        Assert.That(rig.Mmu.HandlePageFault(Va, hardware, out uint guestCode, out _), Is.EqualTo(ShadowFaultKind.Reflect));

        Assert.That(guestCode, Is.EqualTo(access), "not present, the access's W bit, never U (the guest kernel runs at virtual CPL 0)");
        Assert.That(rig.Mmu.GuestFaults, Is.EqualTo(1));
        Assert.That(rig.ShadowLeaf(Va), Is.Zero);
    }

    [Test]
    public void AWriteToAReadOnlyGuestPageIsAProtectionFault()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled), "reads are allowed");

        Assert.That(rig.Mmu.HandlePageFault(Va, ErrP | ErrW | ErrU, out uint guestCode, out _), Is.EqualTo(ShadowFaultKind.Reflect));
        Assert.That(guestCode, Is.EqualTo(ErrP | ErrW));
    }

    [Test]
    public void AReadOnlyUpperLevelEntryMakesTheWholeSubtreeReadOnly()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W | D);
        ulong pde = rig.EntryAddress(pml4, Va, 2);
        rig.Write(pde, rig.Read(pde) & ~W);
        Assert.That(rig.Mmu.HandlePageFault(Va, ErrW | ErrU, out uint guestCode, out _), Is.EqualTo(ShadowFaultKind.Reflect));
        Assert.That(guestCode, Is.EqualTo(ErrP | ErrW));
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.ShadowLeaf(Va) & W, Is.Zero);
    }

    [Test]
    public void NoExecuteOnAnyLevelReachesTheShadowLeafAndFetchesFault()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W | NX);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.ShadowLeaf(Va) & NX, Is.EqualTo(NX));
        Assert.That(rig.Mmu.HandlePageFault(Va, ErrP | ErrI | ErrU, out uint guestCode, out _), Is.EqualTo(ShadowFaultKind.Reflect));
        Assert.That(guestCode, Is.EqualTo(ErrP | ErrI));
    }

    [TestCase(0x1000UL, 1, TestName = "a leaf naming a platform page")]
    [TestCase(0xC000_0000UL, 1, TestName = "a leaf naming the MMIO window")]
    [TestCase(8UL << 20, 1, TestName = "a leaf one frame past RAM")]
    [TestCase(0x1_0000_0000UL, 1, TestName = "a leaf naming host-private memory")]
    [TestCase(0x1_0000_0000UL, 2, TestName = "a page directory entry naming host-private memory")]
    [TestCase(0x7000UL, 4, TestName = "a PML4 entry naming the platform's PML4")]
    public void EntriesNamingFramesOutsideRamAreReservedBitFaults(ulong frame, int level)
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W);
        rig.Write(rig.EntryAddress(pml4, Va, level), frame | P | W | U);

        Assert.That(rig.Mmu.HandlePageFault(Va, ErrU, out uint guestCode, out _), Is.EqualTo(ShadowFaultKind.Reflect));

        Assert.That(guestCode, Is.EqualTo(ErrP | ErrRsvd));
        Assert.That(rig.ShadowLeaf(Va), Is.Zero);
        Assert.That(rig.Host.Protected, Does.Not.Contain(frame));
    }

    [TestCase(3)]
    [TestCase(2)]
    public void LargePagesAreReservedBitFaults(int level)
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W);
        ulong entry = rig.EntryAddress(pml4, Va, level);
        rig.Write(entry, rig.Read(entry) | PS);
        Assert.That(rig.Mmu.HandlePageFault(Va, ErrU, out uint guestCode, out _), Is.EqualTo(ShadowFaultKind.Reflect));
        Assert.That(guestCode, Is.EqualTo(ErrP | ErrRsvd));
    }

    [Test]
    public void AStoreToAShadowedTableIsEmulatedAndDropsTheStaleLeaf()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        int flushes = rig.Host.Flushes;

        // The guest unmaps: its store through the identity map faults on the write-protected frame.
        Assert.That(rig.Mmu.HandlePageFault(pte, ErrP | ErrW | ErrU, out _, out ulong physical), Is.EqualTo(ShadowFaultKind.EmulateWrite));
        Assert.That(physical, Is.EqualTo(pte));
        rig.Write(physical, 0);
        rig.Mmu.OnGuestWrite(physical, 8);

        Assert.That(rig.ShadowLeaf(Va), Is.Zero, "no stale translation survives");
        Assert.That(rig.Host.Flushes, Is.EqualTo(flushes + 1));
        Assert.That(rig.Mmu.HandlePageFault(Va, ErrU, out uint guestCode, out _), Is.EqualTo(ShadowFaultKind.Reflect));
        Assert.That(guestCode, Is.Zero);
        Assert.That(rig.Mmu.TableWrites, Is.EqualTo(1));
    }

    [Test]
    public void AStoreToAnUnshadowedEntryOfAShadowedTableChangesNothingElse()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        int flushes = rig.Host.Flushes;
        ulong next = pte + 8;
        rig.Write(next, rig.NewFrame() | P | W);
        rig.Mmu.OnGuestWrite(next, 8);
        Assert.That(rig.ShadowLeaf(Va), Is.Not.Zero);
        Assert.That(rig.Host.Flushes, Is.EqualTo(flushes));
        Assert.That(rig.Fault(Va + 4096, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
    }

    [Test]
    public void ANonLeafStoreThatKeepsTableAndPermissionsKeepsTheSubtree()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        ulong pde = rig.EntryAddress(pml4, Va, 2);
        rig.Write(pde, rig.Read(pde) & ~A);
        rig.Mmu.OnGuestWrite(pde, 8);
        Assert.That(rig.ShadowLeaf(Va), Is.Not.Zero);
        Assert.That(rig.Mmu.Zaps, Is.Zero);
    }

    [Test]
    public void UnlinkingATableDropsItsShadowSubtreeAndGivesItsFrameWriteAccessBack()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        ulong pt = pte & ~0xFFFUL, pd = rig.EntryAddress(pml4, Va, 2) & ~0xFFFUL;
        int pages = rig.Pages.InUse;
        ulong pdpte = rig.EntryAddress(pml4, Va, 3);

        rig.Write(pdpte, 0);
        rig.Mmu.OnGuestWrite(pdpte, 8);

        Assert.That(rig.Host.Protected, Does.Not.Contain(pt).And.Not.Contain(pd), "the unlinked tables are data again");
        Assert.That(rig.Mmu.TrackedFrames, Is.EqualTo(2), "PML4 and PDPT stay shadowed");
        Assert.That(rig.Pages.InUse, Is.EqualTo(pages - 2));
        Assert.That(rig.ShadowLeaf(Va), Is.Zero);
        Assert.That(rig.Mmu.HandlePageFault(pt, ErrP | ErrW | ErrU, out _, out _), Is.EqualTo(ShadowFaultKind.Spurious), "an identity write to a frame no longer protected");
    }

    [Test]
    public void ChangingANonLeafEntrysPermissionsDropsTheSubtree()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W | D);
        Assert.That(rig.Fault(Va, ErrW | ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.ShadowLeaf(Va) & W, Is.EqualTo(W));
        ulong pml4e = rig.EntryAddress(pml4, Va, 4);
        rig.Write(pml4e, rig.Read(pml4e) & ~W);
        rig.Mmu.OnGuestWrite(pml4e, 8);
        Assert.That(rig.ShadowLeaf(Va), Is.Zero);
        Assert.That(rig.Mmu.HandlePageFault(Va, ErrP | ErrW | ErrU, out uint code, out _), Is.EqualTo(ShadowFaultKind.Reflect));
        Assert.That(code, Is.EqualTo(ErrP | ErrW));
    }

    [Test]
    public void AStoreIntoSlotZeroOrTheUpperHalfOfTheGuestPml4IsIgnored()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Write(pml4, rig.NewFrame() | P | W);
        rig.Mmu.OnGuestWrite(pml4, 8);
        rig.Write(pml4 + 300 * 8, rig.NewFrame() | P | W);
        rig.Mmu.OnGuestWrite(pml4 + 300 * 8, 8);
        Assert.That(rig.ShadowEntry(rig.Mmu.CurrentRoot, 0), Is.EqualTo(IdentityEntry));
        Assert.That(rig.ShadowEntry(rig.Mmu.CurrentRoot, 300), Is.Zero);
        Assert.That(rig.Fault(0x1000, ErrU), Is.EqualTo(ShadowFaultKind.NotShadowed), "slot 0 stays the platform's");
        Assert.That(rig.Fault(0xFFFF_8000_0000_0000, ErrU), Is.EqualTo(ShadowFaultKind.NotShadowed), "the upper half is never mapped");
    }

    [Test]
    public void InvlpgDropsThatPagesLeafOnly()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W);
        rig.Map(pml4, Va + 4096, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.Fault(Va + 4096, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        rig.Mmu.InvalidatePage(Va);
        Assert.That(rig.ShadowLeaf(Va), Is.Zero);
        Assert.That(rig.ShadowLeaf(Va + 4096), Is.Not.Zero);
        rig.Mmu.InvalidatePage(0x1234_5678_9000); // nothing shadowed there: no harm
        rig.Mmu.InvalidatePage(0x5000);           // slot 0
    }

    [Test]
    public void Cr3LoadsHitTheRootCacheAndEvictTheLeastRecentlyUsed()
    {
        using var rig = new ShadowTestRig(rootCache: 2);
        ulong a = rig.LoadNewAddressSpace();
        ulong rootA = rig.Mmu.CurrentRoot;
        ulong b = rig.LoadNewAddressSpace();
        Assert.That(rig.Mmu.TryLoadCr3(a, out _), Is.True);
        Assert.That(rig.Mmu.CurrentRoot, Is.EqualTo(rootA), "a hit keeps its shadow");
        Assert.That(rig.Mmu.RootHits, Is.EqualTo(1));
        Assert.That(rig.Mmu.RootMisses, Is.EqualTo(2));

        ulong c = rig.LoadNewAddressSpace(); // evicts b, the least recently used
        Assert.That(rig.Mmu.RootEvictions, Is.EqualTo(1));
        Assert.That(rig.Host.Protected, Does.Not.Contain(b).And.Contain(a).And.Contain(c));
        Assert.That(rig.Mmu.TryLoadCr3(a, out _), Is.True);
        Assert.That(rig.Mmu.RootHits, Is.EqualTo(2));
        Assert.That(rig.Host.Loads, Is.EqualTo(5), "every CR3 load reloads the hardware root (the guest expects a flush)");
    }

    [TestCase(0x1000UL, TestName = "a platform page")]
    [TestCase(0x1FF000UL, TestName = "just below RAM")]
    [TestCase(8UL << 20, TestName = "just past RAM")]
    [TestCase(0x1_0000_0000UL, TestName = "host-private memory")]
    [TestCase(0x300800UL, TestName = "not page aligned")]
    [TestCase(0x300000UL | (1UL << 63), TestName = "bit 63 set")]
    [TestCase(0x300000UL | (1UL << 55), TestName = "a reserved high bit")]
    public void Cr3ValuesOutsideRamOrMalformedAreRefused(ulong cr3)
    {
        using var rig = new ShadowTestRig();
        Assert.That(rig.Mmu.TryLoadCr3(cr3, out bool refused), Is.False);
        Assert.That(refused, Is.True);
        Assert.That(rig.Host.Loads, Is.Zero);
        Assert.That(rig.Pages.InUse, Is.Zero);
    }

    [Test]
    public void Cr3WithPwtAndPcdIsAccepted()
    {
        using var rig = new ShadowTestRig();
        Assert.That(rig.Mmu.TryLoadCr3(rig.NewFrame() | 0x18, out _), Is.True);
    }

    [Test]
    public void ATableThatMapsItselfIsShadowedReadOnlyAndStoresThroughItAreEmulated()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        // The recursive slot: PML4[1] names the PML4 itself, writable. VA with all indices 1 maps the PML4 as a page.
        rig.Write(pml4 + 8, pml4 | P | W | U);
        ulong self = (1UL << 39) | (1UL << 30) | (1UL << 21) | (1UL << 12);

        Assert.That(rig.Fault(self, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.ShadowLeaf(self) & W, Is.Zero, "a page table is never writable through the shadow");
        Assert.That(rig.Mmu.TrackedFrames, Is.EqualTo(1));

        Assert.That(rig.Mmu.HandlePageFault(self + 16, ErrP | ErrW | ErrU, out _, out ulong physical), Is.EqualTo(ShadowFaultKind.EmulateWrite));
        Assert.That(physical, Is.EqualTo(pml4 + 16));
        rig.Write(physical, rig.NewFrame() | P | W);
        rig.Mmu.OnGuestWrite(physical, 8);

        // Rewriting the recursive entry itself drops the whole self-referencing subtree and terminates.
        rig.Write(pml4 + 8, 0);
        rig.Mmu.OnGuestWrite(pml4 + 8, 8);
        Assert.That(rig.ShadowLeaf(self), Is.Zero);
        Assert.That(rig.Mmu.ShadowPages, Is.EqualTo(1), "only the root is left");
        Assert.That(rig.Mmu.TrackedFrames, Is.EqualTo(1));
    }

    [Test]
    public void ATableLoopEndsAfterFourLevels()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong x = rig.NewFrame(), y = rig.NewFrame();
        rig.Write(pml4 + 8, x | P | W);
        for (int i = 0; i < 512; i++)
        {
            rig.Write(x + (ulong)i * 8, y | P | W);
            rig.Write(y + (ulong)i * 8, x | P | W);
        }
        ulong va = (1UL << 39) | 0x1234_5000;
        Assert.That(rig.Fault(va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.ShadowLeaf(va) & ~0xFFFUL & ~NX, Is.EqualTo(y), "PDPT x, PD y, PT x: the leaf names y, read-only as a table");
        Assert.That(rig.ShadowLeaf(va) & W, Is.Zero);
    }

    [Test]
    public void ADataPageThatBecomesATableLosesItsWritableShadowLeaves()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong frame = rig.NewFrame();
        rig.Map(pml4, Va, frame, P | W | D);
        Assert.That(rig.Fault(Va, ErrW | ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.ShadowLeaf(Va) & W, Is.EqualTo(W));

        // The guest makes that frame a page table of another region and touches it.
        ulong other = 0x100_0000_0000; // PML4 slot 2
        rig.Map(pml4, other, rig.NewFrame(), P | W);
        ulong pde = rig.EntryAddress(pml4, other, 2);
        rig.Write(frame, rig.NewFrame() | P | W);           // the data page now holds a PTE
        rig.Write(pde, frame | P | W | U);                   // and is the page table
        rig.Mmu.OnGuestWrite(pde, 8);                        // (the PD was not shadowed yet: a no-op)
        Assert.That(rig.Fault(other, ErrU), Is.EqualTo(ShadowFaultKind.Filled));

        Assert.That(rig.Host.Protected, Does.Contain(frame));
        Assert.That(rig.ShadowLeaf(Va) & W, Is.Zero, "a frame is a shadowed table or writable, never both");
        Assert.That(rig.Mmu.HandlePageFault(Va, ErrP | ErrW | ErrU, out _, out ulong physical), Is.EqualTo(ShadowFaultKind.EmulateWrite));
        Assert.That(physical, Is.EqualTo(frame | (Va & 0xFFF)));
    }

    [Test]
    public void ExhaustedHostPagesEvictOtherRootsThenRefillTheCurrentOne()
    {
        using var rig = new ShadowTestRig(poolPages: 12);
        ulong a = rig.LoadNewAddressSpace();
        for (int i = 0; i < 3; i++)
            rig.Map(a, Va + ((ulong)i << 30), rig.NewFrame(), P | W); // three PDPT slots: 1 + 3*2 + 1
        ulong b = rig.LoadNewAddressSpace();
        for (int i = 0; i < 16; i++)
            rig.Map(b, Va + ((ulong)i << 39), rig.NewFrame(), P | W); // sixteen PML4 slots
        Assert.That(rig.Mmu.TryLoadCr3(a, out _), Is.True);
        for (int i = 0; i < 3; i++)
            Assert.That(rig.Fault(Va + ((ulong)i << 30), ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.Mmu.TryLoadCr3(b, out _), Is.True);

        for (int round = 0; round < 3; round++)
            for (int i = 0; i < 16; i++)
                Assert.That(rig.Fault(Va + ((ulong)i << 39), ErrU), Is.EqualTo(ShadowFaultKind.Filled), $"slot {i} round {round}");

        Assert.That(rig.Mmu.RootEvictions, Is.GreaterThanOrEqualTo(1), "a's root went first");
        Assert.That(rig.Pages.InUse, Is.LessThanOrEqualTo(12));
        Assert.That(rig.Host.Protected.Count, Is.EqualTo(rig.Mmu.TrackedFrames));
    }

    [Test]
    public void APlatformThatCannotWriteProtectFailsTheFaultWithAReason()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W);
        rig.Host.RefuseProtect = true;
        int pages = rig.Pages.InUse;
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Failed));
        Assert.That(rig.Mmu.FailureReason, Does.Contain("write-protect"));
        Assert.That(rig.Pages.InUse, Is.EqualTo(pages), "the page taken for it went back");
    }

    [Test]
    public void UnprotectDropsEveryShadowOfAFrameButNotTheRunningPml4()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.Mmu.TryUnprotect(pte & ~0xFFFUL), Is.True);
        Assert.That(rig.Host.Protected, Does.Not.Contain(pte & ~0xFFFUL));
        Assert.That(rig.ShadowLeaf(Va), Is.Zero);
        Assert.That(rig.Mmu.TryUnprotect(pml4), Is.False);
        Assert.That(rig.Mmu.TryUnprotect(0x1000), Is.False);
    }

    [Test]
    public void BeforeTheFirstCr3LoadGuestSlotsAreNotPresentAndIdentityWritesAreNotOurs()
    {
        using var rig = new ShadowTestRig();
        Assert.That(rig.Mmu.HandlePageFault(Va, ErrW | ErrU, out uint code, out _), Is.EqualTo(ShadowFaultKind.Reflect));
        Assert.That(code, Is.EqualTo(ErrW));
        Assert.That(rig.Fault(0x1000, ErrP | ErrW | ErrU), Is.EqualTo(ShadowFaultKind.NotShadowed), "a platform page");
        Assert.That(rig.Fault(0x300000, ErrU), Is.EqualTo(ShadowFaultKind.NotShadowed), "a read");
    }

    [Test]
    public void ResetDropsEverythingAndLoadsThePlatformRoot()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        rig.Mmu.Reset(0x7000);
        Assert.That(rig.Host.Root, Is.EqualTo(0x7000));
        Assert.That(rig.Pages.InUse, Is.Zero);
        Assert.That(rig.Host.Protected, Is.Empty);
        Assert.That(rig.Mmu.CurrentRoot, Is.Zero);
    }

    [Test]
    public void FaultsTableWritesAndSwitchesAllocateNothing()
    {
        using var rig = new ShadowTestRig();
        ulong a = rig.LoadNewAddressSpace();
        ulong b = rig.LoadNewAddressSpace();
        var ptes = new ulong[64];
        for (int i = 0; i < 64; i++)
        {
            ptes[i] = rig.Map(a, Va + (ulong)i * 4096, rig.NewFrame(), P | W);
            rig.Map(b, Va + (ulong)i * 4096, rig.NewFrame(), P | W);
        }
        ulong pdpte = rig.EntryAddress(a, Va, 3);
        void Round()
        {
            for (int i = 0; i < 64; i++)
            {
                rig.Mmu.TryLoadCr3((i & 1) == 0 ? a : b, out _);
                ulong va = Va + (ulong)i * 4096;
                rig.Mmu.HandlePageFault(va, ErrU, out _, out _);
                rig.Mmu.HandlePageFault(va, ErrP | ErrW | ErrU, out _, out _);
                rig.Mmu.InvalidatePage(va);
            }
            rig.Mmu.TryLoadCr3(a, out _);
            for (int i = 0; i < 64; i++)
            {
                rig.Mmu.HandlePageFault(Va + (ulong)i * 4096, ErrU, out _, out _);
                if (rig.Mmu.HandlePageFault(ptes[i], ErrP | ErrW | ErrU, out _, out ulong physical) == ShadowFaultKind.EmulateWrite)
                    rig.Mmu.OnGuestWrite(physical, 8);
            }
            rig.Mmu.OnGuestWrite(pdpte, 8); // unchanged: the subtree stands
        }
        Round();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
            Round();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void EveryChangedShadowPageIsReportedToTheEngine()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        Assert.That(rig.Host.Notes, Does.Contain(rig.Mmu.CurrentRoot), "the new root");
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        rig.Host.Notes.Clear();
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.Host.Notes, Has.Count.EqualTo(4), "root, PDPT, PD, PT shadows");
        rig.Host.Notes.Clear();
        rig.Write(pte, 0);
        rig.Mmu.OnGuestWrite(pte, 8);
        Assert.That(rig.Host.Notes, Has.Count.EqualTo(1), "the shadow page table whose entry was dropped");
        Assert.That(rig.Mmu.NoteFailed, Is.False);
    }

    [Test]
    public void AnEngineThatCannotPublishAChangeIsReportedAsAFailure()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        rig.Host.RefuseNotes = true;
        rig.Write(pte, 0);
        rig.Mmu.OnGuestWrite(pte, 8);
        Assert.That(rig.Mmu.TakeNoteFailure(), Is.True);
        Assert.That(rig.Mmu.NoteFailed, Is.False);
    }

    [Test]
    public void AFrameThePlatformCouldNotMakeWritableYetIsEnabledAtItsFirstStore()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        ulong pt = pte & ~0xFFFUL;
        rig.Host.RefuseEnable = true;
        ulong pde = rig.EntryAddress(pml4, Va, 2);
        rig.Write(pde, 0);
        rig.Mmu.OnGuestWrite(pde, 8);
        Assert.That(rig.Mmu.IsTracked(pt), Is.False);
        Assert.That(rig.Host.Protected, Does.Contain(pt), "still read-only in the identity map");

        // Re-shadowing it while pending needs no new protection.
        rig.Host.RefuseEnable = false;
        rig.Write(pde, pt | P | W | U);
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.Mmu.IsTracked(pt), Is.True);

        rig.Host.RefuseEnable = true;
        rig.Write(pde, 0);
        rig.Mmu.OnGuestWrite(pde, 8);
        rig.Host.RefuseEnable = false;
        Assert.That(rig.Fault(pt + 8, ErrP | ErrW | ErrU), Is.EqualTo(ShadowFaultKind.Spurious));
        Assert.That(rig.Host.Protected, Does.Not.Contain(pt), "the store's fault gave write access back");
    }

    [Test]
    public void AGuestTableLinkedFromManyPlacesHasABoundedNumberOfShadows()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        ulong pte = rig.Map(pml4, Va, rig.NewFrame(), P | W);
        ulong pt = pte & ~0xFFFUL;
        ulong pd = rig.EntryAddress(pml4, Va, 2) & ~0xFFFUL;
        for (int i = 0; i < 64; i++)
            rig.Write(pd + (ulong)i * 8, pt | P | W | U);    // one page table under 64 directory entries
        ulong baseVa = Va & ~((1UL << 30) - 1);
        for (int i = 0; i < 64; i++)
            Assert.That(rig.Fault(baseVa + ((ulong)i << 21) + (Va & 0x1FF000), ErrU), Is.EqualTo(ShadowFaultKind.Filled));
        Assert.That(rig.Mmu.ShadowPages, Is.EqualTo(3 + ShadowMmu.MaxShadowsPerTable));
        rig.Host.Notes.Clear();
        rig.Write(pte, 0);
        rig.Mmu.OnGuestWrite(pte, 8);
        Assert.That(rig.Host.Notes, Has.Count.LessThanOrEqualTo(ShadowMmu.MaxShadowsPerTable));
    }

    [Test]
    public void AVcpuResetOntoThePlatformRootLeavesNoAddressSpaceCurrent()
    {
        using var rig = new ShadowTestRig();
        ulong pml4 = rig.LoadNewAddressSpace();
        rig.Map(pml4, Va, rig.NewFrame(), P | W);
        rig.Host.Root = 0x7000; // what a new entry does
        Assert.That(rig.Mmu.HandlePageFault(Va, ErrU, out uint code, out _), Is.EqualTo(ShadowFaultKind.Reflect));
        Assert.That(code, Is.Zero);
        Assert.That(rig.Mmu.TryLoadCr3(pml4, out _), Is.True);
        Assert.That(rig.Mmu.RootHits, Is.EqualTo(1), "the cached root is reused");
        Assert.That(rig.Fault(Va, ErrU), Is.EqualTo(ShadowFaultKind.Filled));
    }
}
