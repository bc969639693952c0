namespace ParaVirt.Workloads;

/// <summary>
/// The names of the disk devices on the workloads guest's command line (<c>blk-read 1024
/// disk=ide-dma</c>) and in <c>paravirt compare</c>'s results (the <c>device</c> field). Shared by the
/// host and the guest (the guest compiles this file). Without a <c>disk=</c> word the guest uses its
/// mode's default: <see cref="AtaPio"/> in full mode, <see cref="VirtioBlk"/> in para mode.
/// </summary>
/// <example><code>
/// // host: $"{workload} {operations} {DiskWireName.Prefix}{DiskWireName.IdeDma}"
/// // guest: if (WorkloadCommandLine.Is(disk, DiskWireName.IdeDma)) ...
/// </code></example>
public static class DiskWireName
{
    /// <summary>The command-line word's prefix, followed by one of the names.</summary>
    public const string Prefix = "disk=";

    /// <summary>Full mode: ATA PIO (the default there).</summary>
    public const string AtaPio = "ata-pio";

    /// <summary>Full mode: IDE bus-master DMA (PIIX).</summary>
    public const string IdeDma = "ide-dma";

    /// <summary>Full mode: NVMe.</summary>
    public const string Nvme = "nvme";

    /// <summary>Para mode: virtio-blk on the synchronous notify hypercall (the default there).</summary>
    public const string VirtioBlk = "virtio-blk";

    /// <summary>Para mode: virtio-blk on the asynchronous transport.</summary>
    public const string VirtioBlkAsync = "virtio-blk-async";

    /// <summary>The command-line word that makes a driver sleep until its device signals (an IRQ in full mode, an event in para mode) instead of polling.</summary>
    public const string WaitBlock = "wait=block";

    /// <summary>The command-line word that makes a driver poll (the default).</summary>
    public const string WaitPoll = "wait=poll";
}
