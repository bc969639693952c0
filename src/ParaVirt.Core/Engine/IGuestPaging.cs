namespace ParaVirt.Core.Engine;

/// <summary>
/// An engine feature of a vCPU: the page-table root (CR3) the hardware walks and the guest's TLB.
/// The host cannot execute <c>invlpg</c> or <c>mov cr3</c> inside the VM, and under a nested KVM
/// that itself shadows the guest's tables (kvm_pvm) a host store into live page tables through its
/// own mapping of guest memory is not seen by the hardware until the vCPU's translations are
/// flushed. Whoever writes live tables (the para-mode MMU, the shadow MMU) calls
/// <see cref="FlushTlbBeforeNextEntry"/>; the engine performs the flush on the way back into the
/// guest, once however many times it was asked. Obtain it with <c>vm.GetVcpuFeature&lt;IGuestPaging&gt;()</c>.
/// </summary>
/// <example><code>
/// IGuestPaging paging = vm.GetVcpuFeature&lt;IGuestPaging&gt;()!;
/// memory.TryWrite(pte, 0UL);            // unmap: a live entry changed
/// paging.FlushTlbBeforeNextEntry();     // no stale translation survives into the guest
/// paging.SetRoot(newL4);                // or switch address space (flushes too)
/// </code></example>
/// <remarks>Called on the vCPU thread while the vCPU is out of the guest (inside an exit handler).</remarks>
public interface IGuestPaging
{
    /// <summary>The guest-physical address of the top-level table (CR3) the vCPU runs on at its next entry.</summary>
    ulong Root { get; }

    /// <summary>The root the engine built for the platform (the identity map every entry starts on).</summary>
    ulong PlatformRoot { get; }

    /// <summary>Makes the vCPU run on <paramref name="root"/> (a 4 KiB-aligned guest-physical address) from its next entry; flushes all its translations.</summary>
    void SetRoot(ulong root);

    /// <summary>Drops every cached translation of the vCPU before it next enters the guest.</summary>
    void FlushTlbBeforeNextEntry();

    /// <summary>
    /// Says that the host wrote the table page at guest-physical <paramref name="tablePage"/> (any
    /// address inside it) through its own mapping: before the next entry the engine makes the
    /// hardware (and an outer hypervisor that shadows the guest's tables) see the page as it is
    /// now. Implies <see cref="FlushTlbBeforeNextEntry"/>. Returns false, noting nothing, when
    /// <see cref="TableWriteCapacity"/> pages are already noted for this entry: the caller stops its
    /// batch there (bounded work per exit) and lets the guest continue it.
    /// </summary>
    bool TryNoteTableWrite(ulong tablePage);

    /// <summary>How many more distinct table pages <see cref="TryNoteTableWrite"/> accepts before the next entry.</summary>
    int TableWriteCapacity { get; }

    /// <summary>Flushes the engine performed (each entry that had one or more requests pending counts once).</summary>
    long Flushes { get; }
}
