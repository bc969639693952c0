using System.Collections.Generic;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads;

/// <summary>
/// The memory workloads (page-fault, map-unmap, protect, context-switch, fork), in the style of the
/// lmbench rows of Xen's SOSP'03 paper: the guest manages its own address spaces through the
/// guest SDK's address-space API. Full mode: ordinary page tables the host virtualizes with shadow
/// paging. Para mode: direct paging with batched, validated <c>mmu_update</c>/<c>mmuext</c>
/// hypercalls (docs/memory-virtualization.md).
/// </summary>
/// <example><code>
/// WorkloadResult r = WorkloadRunner.Run(MemoryWorkloadCatalog.MapUnmap, VirtualizationMode.Para, new WorkloadRunOptions());
/// </code></example>
public static class MemoryWorkloadCatalog
{
    /// <summary><c>page-fault</c>: touch one page that is not present; the guest's #PF handler maps a fresh frame (demand paging).</summary>
    public static WorkloadDefinition PageFault { get; } = new(
        "page-fault", "demand-paged page", 1024, 128, 0,
        "touch a page that is not present; the #PF handler maps a fresh frame (para: #PF trap + one mmu_update)");

    /// <summary><c>map-unmap</c>: map 64 pages, then unmap them (the mmap/munmap analogue).</summary>
    public static WorkloadDefinition MapUnmap { get; } = new(
        "map-unmap", "map+unmap 64 pages", 256, 32, 0,
        "map 64 pages and unmap them (para: two 64-entry mmu_update batches)");

    /// <summary><c>protect</c>: write-protect 64 pages, then make them writable again (the mprotect analogue).</summary>
    public static WorkloadDefinition Protect { get; } = new(
        "protect", "protect+unprotect 64 pages", 256, 32, 0,
        "write-protect 64 pages and make them writable again (para: two 64-entry mmu_update batches)");

    /// <summary><c>context-switch</c>: switch to the other of two address spaces and touch one page.</summary>
    public static WorkloadDefinition ContextSwitch { get; } = new(
        "context-switch", "switch + touch", 2000, 200, 0,
        "switch between two address spaces and touch one page in each (para: one mmuext new-baseptr)");

    /// <summary><c>fork</c>: copy-on-write copy of a 256-page address space, one write fault in the child, tear down.</summary>
    public static WorkloadDefinition Fork { get; } = new(
        "fork", "256-page COW fork", 64, 8, 0,
        "copy-on-write copy of a 256-page address space, one write fault in the child, tear the copy down");

    /// <summary>Their definitions; the workload catalog merges them after the CPU workloads.</summary>
    public static IReadOnlyList<WorkloadDefinition> Definitions { get; } = [PageFault, MapUnmap, Protect, ContextSwitch, Fork];
}
