using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Mmu.Tests;

/// <summary>
/// The memory workloads of the C# workloads guest in para and full mode, run by the workload runner on KVM:
/// verified by the guest, with exact exits per operation inside the measured window.
/// </summary>
public class MemoryWorkloadTests : KvmWorkloadFixture
{
    private static long Count(WorkloadResult r, string reason) =>
        r.ExitsByReason.Where(p => p.Key.ToString() == reason).Sum(p => p.Value);

    [Test]
    public void PageFaultIsOneTrapAndOneMmuUpdatePerPage()
    {
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.PageFault, VirtualizationMode.Para, 64);
        Assert.That((Count(r, "Trap"), Count(r, "Hypercall"), r.Exits), Is.EqualTo((64L, 64L, 128L)));
    }

    [Test]
    public void MapUnmapIsTwoBatchesPerSixtyFourPages()
    {
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.MapUnmap, VirtualizationMode.Para, 16);
        Assert.That((Count(r, "Hypercall"), r.Exits), Is.EqualTo((32L, 32L)));
        Assert.That(r.Exits / (16.0 * 64), Is.LessThanOrEqualTo(1.0 / 32), "target: at most 1/32 exit per page");
    }

    [Test]
    public void ProtectIsTwoBatchesPerSixtyFourPages()
    {
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.Protect, VirtualizationMode.Para, 16);
        Assert.That((Count(r, "Hypercall"), r.Exits), Is.EqualTo((32L, 32L)));
    }

    [Test]
    public void ContextSwitchIsOneExitPerSwitch()
    {
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.ContextSwitch, VirtualizationMode.Para, 200);
        Assert.That((Count(r, "Hypercall"), r.Exits), Is.EqualTo((200L, 200L)));
    }

    [Test]
    public void ForkIsNineExitsPerCopy()
    {
        // 3 commits creating the child's tables, 1 for the 512 copy updates, 1 switch to the child,
        // the write fault (a trap) and its one-update commit, 1 switch back, 1 teardown.
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.Fork, VirtualizationMode.Para, 4);
        Assert.That((Count(r, "Hypercall"), Count(r, "Trap"), r.Exits), Is.EqualTo((32L, 4L, 36L)));
    }

    // Full mode: the same guest code on ordinary page tables, virtualized by shadow paging. The
    // counts are exact and repeatable (every exit is a trap: a reflected #PF, mov from CR2, a
    // page-table store emulated, a hidden refill, invlpg, mov cr3); docs/memory-virtualization.md
    // explains each. 16 operations each.

    [Test]
    public void FullModePageFaultIsAboutFourTrapsPerPage()
    {
        // Reflected #PF, mov rax,cr2, the emulated PTE store, the hidden refill: 4 per page; the
        // first page's refill comes with its table's, one exit fewer.
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.PageFault, VirtualizationMode.Full, 16);
        Assert.That((Count(r, "Trap"), r.Exits), Is.EqualTo((63L, 63L)));
    }

    [Test]
    public void FullModeMapUnmapTrapsOnEveryTableStore()
    {
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.MapUnmap, VirtualizationMode.Full, 16);
        Assert.That((Count(r, "Trap"), r.Exits), Is.EqualTo((4032L, 4032L)));
        Assert.That(r.Exits / (16.0 * 64), Is.GreaterThanOrEqualTo(2.0), "full mode pays at least 2 exits per page");
    }

    [Test]
    public void FullModeProtectTrapsOnEveryTableStore()
    {
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.Protect, VirtualizationMode.Full, 16);
        Assert.That((Count(r, "Trap"), r.Exits), Is.EqualTo((5952L, 5952L)));
    }

    [Test]
    public void FullModeContextSwitchIsOneCr3TrapPerSwitchOnceBothRootsAreCached()
    {
        // 16 mov cr3 traps, plus the hidden fills of the two touched pages in each address space.
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.ContextSwitch, VirtualizationMode.Full, 16);
        Assert.That((Count(r, "Trap"), r.Exits), Is.EqualTo((20L, 20L)));
    }

    [Test]
    public void FullModeForkTrapsThousandsOfTimesPerCopy()
    {
        WorkloadResult r = RunVerified(MemoryWorkloadCatalog.Fork, VirtualizationMode.Full, 16);
        Assert.That((Count(r, "Trap"), r.Exits), Is.EqualTo((41150L, 41150L)));
    }

    [Test]
    public void TheCatalogHasTheMemoryWorkloads()
    {
        foreach (string name in new[] { "page-fault", "map-unmap", "protect", "context-switch", "fork" })
            Assert.That(WorkloadCatalog.Find(name), Is.Not.Null, name);
    }
}
