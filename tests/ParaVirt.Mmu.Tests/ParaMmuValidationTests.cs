using ParaVirt.Abi;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;
using ParaVirt.Mmu.Para;
using ParaVirt.Vmm;

namespace ParaVirt.Mmu.Tests;

/// <summary>
/// The paravirtual MMU's validation, the security boundary, driven through its hypercalls on the
/// fake engine (the KVM platform's layout). Every refused update returns its status and changes
/// nothing.
/// </summary>
public class ParaMmuValidationTests
{
    private const ulong L4 = 0x300000, L3 = 0x301000, L2 = 0x302000, L1 = 0x303000, Data = 0x304000, Other = 0x305000;
    private const ulong List = 0x3F0000, Done = 0x3F8000;
    private const ulong Va = 0x80_0000_0000; // PML4 slot 1, L3 0, L2 0, L1 0
    private const ulong Rw = 7, Ro = 5;

    private VirtualMachine _vm = null!;
    private ParaMmu _mmu = null!;
    private FakeEngine.IdleVcpu _vcpu = null!;

    [SetUp]
    public void CreateVm()
    {
        _vm = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).Build().Vm;
        _mmu = ParaMmu.Attach(_vm);
        _vcpu = _vm.GetVcpuFeature<FakeEngine.IdleVcpu>()!;
    }

    [TearDown]
    public void DisposeVm() => _vm.Dispose();

    private GuestMemory Ram => _vm.PhysicalMemory;

    private ulong Read(ulong address) => Ram.TryRead(address, out ulong v) ? v : throw new InvalidOperationException();

    private long Ext(MmuExtCommand command, ulong argument) =>
        _vm.Hypercalls.Dispatch(_vm, (ulong)Hypercall.MmuExtOp, new HypercallArgs((ulong)command, argument));

    private long Updates(params (ulong Entry, ulong Value)[] updates)
    {
        for (int i = 0; i < updates.Length; i++)
            Ram.TryWrite(List + (ulong)i * 16, new MmuUpdateEntry { Entry = updates[i].Entry, Value = updates[i].Value });
        Ram.TryWrite(Done, ulong.MaxValue);
        return _vm.Hypercalls.Dispatch(_vm, (ulong)Hypercall.MmuUpdate, new HypercallArgs(List, (ulong)updates.Length, Done));
    }

    private long Update(ulong entry, ulong value) => Updates((entry, value));

    /// <summary>Pins L1..L4 and links L4[1] -> L3[0] -> L2[0] -> L1, with Va mapping Data writable.</summary>
    private void BuildHierarchy()
    {
        Assert.That(Ext(MmuExtCommand.PinL1Table, L1), Is.Zero);
        Assert.That(Ext(MmuExtCommand.PinL2Table, L2), Is.Zero);
        Assert.That(Ext(MmuExtCommand.PinL3Table, L3), Is.Zero);
        Assert.That(Ext(MmuExtCommand.PinL4Table, L4), Is.Zero);
        Assert.That(Updates((L4 + 8, L3 | Rw), (L3, L2 | Rw), (L2, L1 | Rw), (L1, Data | Rw)), Is.EqualTo(4));
    }

    [Test]
    public void AValidHierarchyIsWrittenPinnedTablesAreReadOnlyAndSlotZeroIsThePlatforms()
    {
        BuildHierarchy();
        Assert.That((Read(L4 + 8), Read(L3), Read(L2), Read(L1)), Is.EqualTo((L3 | Rw, L2 | Rw, L1 | Rw, Data | Rw)));
        Assert.That(Read(L4), Is.EqualTo(Read(_vm.Layout.PageTableRoot)), "slot 0 is the platform's");
        foreach (ulong table in new[] { L1, L2, L3, L4 })
            Assert.That(_mmu.Protection.IsProtected(table), Is.True, $"0x{table:x} is read-only to the guest");
        Assert.That(_mmu.Protection.IsProtected(Data), Is.False);
        Assert.That(_vcpu.NotedTablePages, Does.Contain(L1).And.Contain(L4), "every table the host wrote is reported to the engine");
        Assert.That(_mmu.PinnedTables, Is.EqualTo(4));
    }

    private void AssertRefused(long status, HypercallStatus expected, ulong entry)
    {
        ulong before = Read(entry);
        Assert.That(status, Is.EqualTo((long)expected));
        Assert.That(Read(entry), Is.EqualTo(before), "a refused update changes nothing");
        Assert.That(Read(Done), Is.EqualTo(0UL), "no entry of the batch was applied");
    }

    private static IEnumerable<TestCaseData> RefusedLeafMappings()
    {
        yield return new TestCaseData(L2 | Rw, HypercallStatus.NotPermitted).SetName("a page-table frame mapped writable");
        yield return new TestCaseData(L1 | Rw, HypercallStatus.NotPermitted).SetName("a table mapping itself writable");
        yield return new TestCaseData(0x10000UL | Rw, HypercallStatus.BadAddress).SetName("the hypercall page");
        yield return new TestCaseData(0x10000UL | Ro, HypercallStatus.BadAddress).SetName("the hypercall page read-only");
        yield return new TestCaseData(0x2000UL | Ro, HypercallStatus.BadAddress).SetName("the IDT");
        yield return new TestCaseData(0x7000UL | Ro, HypercallStatus.BadAddress).SetName("the platform's PML4");
        yield return new TestCaseData(0xC000UL | Rw, HypercallStatus.BadAddress).SetName("the ring-0 stack");
        yield return new TestCaseData((8UL << 20) | Rw, HypercallStatus.BadAddress).SetName("past the end of RAM");
        yield return new TestCaseData(0x1_0000_0000UL | Ro, HypercallStatus.BadAddress).SetName("host-private memory");
        yield return new TestCaseData(0xC000_0000UL | Rw, HypercallStatus.BadAddress).SetName("the MMIO window");
        yield return new TestCaseData(0x000F_FFFF_FFFF_F000UL | Rw, HypercallStatus.BadAddress).SetName("the highest physical frame");
    }

    [TestCaseSource(nameof(RefusedLeafMappings))]
    public void ALeafMappingOfAFrameThatIsNotTheGuestsWritableRamIsRefused(ulong value, HypercallStatus expected)
    {
        BuildHierarchy();
        AssertRefused(Update(L1 + 8, value), expected, L1 + 8);
    }

    [Test]
    public void APageTableMayBeMappedReadOnly()
    {
        BuildHierarchy();
        Assert.That(Update(L1 + 8, L2 | Ro), Is.EqualTo(1));
    }

    private static IEnumerable<TestCaseData> RefusedTableEntries()
    {
        yield return new TestCaseData(L4 + 0, L3 | Rw, HypercallStatus.NotPermitted).SetName("PML4 slot 0 (the platform's)");
        yield return new TestCaseData(L4 + 256 * 8, L3 | Rw, HypercallStatus.NotPermitted).SetName("PML4 slot 256 (the upper half)");
        yield return new TestCaseData(L4 + 2 * 8, L2 | Rw, HypercallStatus.NotPermitted).SetName("a PML4 entry naming a level-2 table");
        yield return new TestCaseData(L4 + 2 * 8, L4 | Rw, HypercallStatus.NotPermitted).SetName("a PML4 entry naming itself (a loop)");
        yield return new TestCaseData(L2 + 8, L2 | Rw, HypercallStatus.NotPermitted).SetName("a directory naming itself (a loop)");
        yield return new TestCaseData(L2 + 8, Data | Rw, HypercallStatus.NotPermitted).SetName("a directory naming a data frame");
        yield return new TestCaseData(L2 + 8, Data | Rw | 0x80, HypercallStatus.InvalidArgument).SetName("a 2 MiB page");
        yield return new TestCaseData(L3 + 8, L1 | Rw, HypercallStatus.NotPermitted).SetName("a PDPT entry naming a level-1 table");
        yield return new TestCaseData(L3 + 8, 0x8000UL | Rw, HypercallStatus.BadAddress).SetName("a PDPT entry naming the platform's PDPT");
    }

    [TestCaseSource(nameof(RefusedTableEntries))]
    public void TableEntriesMayNameOnlyPinnedTablesOfTheLevelBelow(ulong entry, ulong value, HypercallStatus expected)
    {
        BuildHierarchy();
        AssertRefused(Update(entry, value), expected, entry);
    }

    [TestCase(Data, HypercallStatus.InvalidArgument, TestName = "an entry in a frame that is not a pinned table")]
    [TestCase(L1 + 4, HypercallStatus.InvalidArgument, TestName = "a misaligned entry")]
    [TestCase(0x7000UL, HypercallStatus.BadAddress, TestName = "an entry in the platform's PML4")]
    [TestCase(0x1_0000_0000UL, HypercallStatus.BadAddress, TestName = "an entry in host-private memory")]
    [TestCase(8UL << 20, HypercallStatus.BadAddress, TestName = "an entry past RAM")]
    public void AnEntryAddressOutsideAPinnedTableIsRefused(ulong entry, HypercallStatus expected)
    {
        BuildHierarchy();
        ulong before = Ram.TryRead(entry, out ulong v) ? v : 0;
        Assert.That(Update(entry, Other | Ro), Is.EqualTo((long)expected));
        Assert.That(Ram.TryRead(entry, out ulong after) ? after : 0, Is.EqualTo(before));
    }

    [Test]
    public void ABatchStopsAtTheFirstRefusedEntryAndReportsHowManyWereApplied()
    {
        BuildHierarchy();
        long status = Updates((L1 + 8, Other | Rw), (L1 + 16, L1 | Rw), (L1 + 24, Other | Rw));
        Assert.That(status, Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(Read(Done), Is.EqualTo(1UL));
        Assert.That((Read(L1 + 8), Read(L1 + 16), Read(L1 + 24)), Is.EqualTo((Other | Rw, 0UL, 0UL)));
    }

    [Test]
    public void PinningIsRefusedForAFrameMappedWritableForAPinnedFrameAndForInvalidContents()
    {
        BuildHierarchy();
        Assert.That(Ext(MmuExtCommand.PinL1Table, Data), Is.EqualTo((long)HypercallStatus.NotPermitted), "mapped writable at Va");
        Assert.That(Ext(MmuExtCommand.PinL2Table, L1), Is.EqualTo((long)HypercallStatus.NotPermitted), "already an L1");
        // An L1 whose contents map itself writable.
        Ram.TryWrite(Other, Other | Rw);
        Assert.That(Ext(MmuExtCommand.PinL1Table, Other), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_mmu.Protection.IsProtected(Other), Is.False, "a refused pin leaves the frame writable");
        // An L4 with its own idea of slot 0, or an upper-half entry.
        Ram.TryWrite(Other, 0x304000UL | Rw);
        Assert.That(Ext(MmuExtCommand.PinL4Table, Other), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Ram.TryWrite(Other, 0UL);
        Ram.TryWrite(Other + 300 * 8, 1UL);
        Assert.That(Ext(MmuExtCommand.PinL4Table, Other), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(Ext(MmuExtCommand.PinL1Table, 0x10000), Is.EqualTo((long)HypercallStatus.BadAddress), "a platform page");
        Assert.That(Ext(MmuExtCommand.PinL1Table, Other + 8), Is.EqualTo((long)HypercallStatus.InvalidArgument), "not a frame");
        Assert.That(Ext((MmuExtCommand)99, Other), Is.EqualTo((long)HypercallStatus.InvalidArgument));
    }

    [Test]
    public void ATableStillReferencedOrInUseCannotBeUnpinnedAndUnpinningDropsItsReferences()
    {
        BuildHierarchy();
        Assert.That(Ext(MmuExtCommand.Unpin, L1), Is.EqualTo((long)HypercallStatus.NotPermitted), "L2[0] refers to it");
        Assert.That(Ext(MmuExtCommand.NewBasePointer, L4), Is.Zero);
        Assert.That(_vcpu.Root, Is.EqualTo(L4));
        Assert.That(Update(L4 + 8, 0), Is.EqualTo(1));
        Assert.That(Ext(MmuExtCommand.Unpin, L4), Is.EqualTo((long)HypercallStatus.NotPermitted), "the base pointer");
        Assert.That(Ext(MmuExtCommand.NewBasePointer, 0), Is.Zero);
        Assert.That(_vcpu.Root, Is.EqualTo(_vcpu.PlatformRoot));
        Assert.That(Ext(MmuExtCommand.Unpin, L4), Is.Zero);
        Assert.That(Read(L4), Is.Zero, "the platform's slot leaves with the type");
        Assert.That(Update(L2, 0), Is.EqualTo(1));
        Assert.That(Ext(MmuExtCommand.Unpin, L1), Is.Zero);
        Assert.That(_mmu.Protection.IsProtected(L1), Is.False);
        Assert.That(Ext(MmuExtCommand.PinL1Table, Data), Is.Zero, "the writable mapping left with the unpinned L1");
    }

    [TestCase(L1, TestName = "a level-1 table")]
    [TestCase(Data, TestName = "an ordinary frame")]
    [TestCase(0x7000UL, TestName = "the platform's PML4 (not RAM)")]
    [TestCase(8UL << 20, TestName = "past RAM")]
    public void TheBasePointerMustBeAPinnedLevel4Table(ulong root)
    {
        BuildHierarchy();
        Assert.That(Ext(MmuExtCommand.NewBasePointer, root), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_vcpu.Root, Is.EqualTo(_vcpu.PlatformRoot));
    }

    [Test]
    public void AHugeCountIsBoundedToOneBudgetPerCall()
    {
        BuildHierarchy();
        for (int i = 0; i < MmuLimits.MaxUpdatesPerCall; i++)
            Ram.TryWrite(List + (ulong)i * 16, new MmuUpdateEntry { Entry = L1 + 8, Value = Other | Ro });
        long done = _vm.Hypercalls.Dispatch(_vm, (ulong)Hypercall.MmuUpdate, new HypercallArgs(List, ulong.MaxValue, 0));
        Assert.That(done, Is.EqualTo(MmuLimits.MaxUpdatesPerCall));
        Assert.That(_vm.Hypercalls.Dispatch(_vm, (ulong)Hypercall.MmuUpdate, new HypercallArgs((8UL << 20) - 16, ulong.MaxValue, 0)),
            Is.EqualTo((long)HypercallStatus.BadAddress), "the bounded list leaves RAM: refused, no overflow");
    }

    [TestCase(0x7000UL, 0UL, TestName = "a list on the platform's pages")]
    [TestCase(0x1_0000_0000UL, 0UL, TestName = "a list in host-private memory")]
    [TestCase(ulong.MaxValue - 8, 0UL, TestName = "a list that wraps around")]
    [TestCase(List, 0x10000UL, TestName = "a done counter on the read-only hypercall page")]
    public void AnUpdateListOrDoneCounterOutsideGuestMemoryIsRefused(ulong list, ulong done)
    {
        BuildHierarchy();
        Assert.That(_vm.Hypercalls.Dispatch(_vm, (ulong)Hypercall.MmuUpdate, new HypercallArgs(list, 1, done)), Is.EqualTo((long)HypercallStatus.BadAddress));
    }

    [Test]
    public void WhenTheEngineTakesNoMoreTablePagesABatchReturnsHowFarItGot()
    {
        BuildHierarchy();
        _vcpu.SimulateEntry();
        _vcpu.TableWriteLimit = 1;
        // Two updates in two different tables: the second needs a second table page before the next entry.
        long done = Updates((L1 + 8, Other | Ro), (L2 + 8, 0));
        Assert.That(done, Is.EqualTo(1));
        Assert.That(Read(L1 + 8), Is.EqualTo(Other | Ro));
        _vcpu.SimulateEntry();
        Assert.That(Updates((L2 + 8, 0)), Is.EqualTo(1), "the guest continues after the next entry");
    }

    [Test]
    public void UpdatesPinsAndSwitchesAllocateNothing()
    {
        BuildHierarchy();
        Ram.TryWrite(List, new MmuUpdateEntry { Entry = L1 + 8, Value = Other | Rw });
        Ram.TryWrite(List + 16, new MmuUpdateEntry { Entry = L1 + 8, Value = 0 });
        long wrong = 0;
        void Cycle()
        {
            wrong += _vm.Hypercalls.Dispatch(_vm, (ulong)Hypercall.MmuUpdate, new HypercallArgs(List, 2, Done)) == 2 ? 0 : 1;
            Ext(MmuExtCommand.PinL1Table, Other);
            Ext(MmuExtCommand.Unpin, Other);
            Ext(MmuExtCommand.NewBasePointer, L4);
            Ext(MmuExtCommand.NewBasePointer, 0);
            Ext(MmuExtCommand.FlushTlb, 0);
            _vcpu.SimulateEntry();
        }
        Cycle();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++)
            Cycle();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero);
        Assert.That((wrong, _mmu.Refused), Is.EqualTo((0L, 0L)));
    }
}
