namespace ParaVirt.Vmm;

/// <summary>
/// The device through which a machine's disk reaches the guest: the I/O ladder from the worst
/// emulated disk to the paravirtual ones. The first three are full-mode devices (the guest programs
/// registers), the last two para-mode devices (virtio rings). The guest learns which one it has from
/// its command line (the workloads guest: <c>disk=ide-dma</c>; wire names in
/// <c>ParaVirt.Workloads.DiskWireName</c>).
/// </summary>
/// <example><code>
/// using Machine machine = MachineBuilder.Create().WithMode(VirtualizationMode.Full)
///     .WithDisk(disk, DiskInterface.IdeDma).WithImage(image).Build();
/// </code></example>
public enum DiskInterface
{
    /// <summary>Full mode: ATA PIO on the primary master (1F0h-1F7h, 3F6h): a port exit per register, data through the data register.</summary>
    AtaPio,

    /// <summary>Full mode: the same ATA drive with a PIIX-style bus-master DMA engine: a PRD table in guest memory, a few register exits per request.</summary>
    IdeDma,

    /// <summary>Full mode: an NVMe controller (MMIO registers, submission/completion queues in guest memory, doorbells).</summary>
    Nvme,

    /// <summary>Para mode: virtio-blk on the synchronous notify hypercall (the queue is processed on the vCPU thread).</summary>
    VirtioBlk,

    /// <summary>Para mode: virtio-blk on the asynchronous transport (ioeventfd doorbell, a device thread, completion as an event).</summary>
    VirtioBlkAsync,
}
