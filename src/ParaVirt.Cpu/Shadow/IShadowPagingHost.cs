namespace ParaVirt.Cpu.Shadow;

/// <summary>
/// What the shadow MMU needs from the platform: write access to single guest frames taken away
/// and given back in the identity map, the hardware's root, and a TLB flush. The KVM platform
/// implements it over the engine's paging feature; tests implement it with a recorder.
/// </summary>
/// <remarks>Called on the vCPU thread, inside an exit handler, with the guest stopped.</remarks>
public interface IShadowPagingHost
{
    /// <summary>
    /// Makes guest frame <paramref name="frame"/> (a 4 KiB-aligned RAM address) read-only in the
    /// platform's identity map (every address space shares it), so that a guest store to it faults.
    /// False if the platform cannot (it ran out of host-private pages): the MMU then does not
    /// shadow the table and the caller stops the VM with a reason.
    /// </summary>
    bool TryWriteProtect(ulong frame);

    /// <summary>
    /// Gives write access to <paramref name="frame"/> back in the identity map (it is no longer a
    /// shadowed table). False if the platform cannot do it before this entry (it ran out of table
    /// writes it can publish): the MMU keeps the frame pending and retries when the guest's first
    /// store to it faults.
    /// </summary>
    bool TryWriteEnable(ulong frame);

    /// <summary>
    /// Reports that the host changed the live table page <paramref name="page"/> (a shadow table in
    /// host-private memory). Under a nested KVM that itself shadows the guest's tables, a host
    /// store is seen only after the engine republishes the page from inside the VM before the next
    /// entry. False if the engine cannot take more pages before this entry.
    /// </summary>
    bool TryNoteTableWrite(ulong page);

    /// <summary>
    /// The root the vCPU walks now. When it is not the MMU's current shadow root (the vCPU was
    /// reset for a new entry, which loads the platform's root), the guest is back on the identity
    /// map until its next CR3 load.
    /// </summary>
    ulong ActiveRoot { get; }

    /// <summary>Makes the vCPU walk <paramref name="root"/> (a host-private table) from its next entry, flushing its TLB.</summary>
    void LoadRoot(ulong root);

    /// <summary>Flushes the vCPU's TLB before its next entry (a live shadow entry changed).</summary>
    void FlushTlb();
}

/// <summary>
/// Zeroed 4 KiB pages of host-private memory (outside guest RAM and every guest mapping) for the
/// shadow tables. All pages lie in the single region of <see cref="Memory"/>.
/// </summary>
public interface IShadowPageSource
{
    /// <summary>The host-private memory: one region holding every page handed out.</summary>
    Core.Memory.GuestMemory Memory { get; }

    /// <summary>Pages left.</summary>
    int FreePages { get; }

    /// <summary>Takes a zeroed page; false when none is left.</summary>
    bool TryAllocate(out ulong address);

    /// <summary>Returns a page taken with <see cref="TryAllocate"/>.</summary>
    void Free(ulong address);
}
