namespace ParaVirt.Workloads;

/// <summary>
/// How a block workload's guest learns that a request finished, on a device that completes after
/// the exit that submitted it (<see cref="DiskDevices.CompletesAsynchronously"/>: <c>ide-dma</c>,
/// <c>nvme</c>, <c>virtio-blk-async</c>). ATA PIO and synchronous virtio-blk finish inside the
/// submitting exit and have only <see cref="Poll"/>.
/// </summary>
/// <example><code>
/// var options = new WorkloadRunOptions { DiskInterface = DiskInterface.Nvme, Completion = DiskCompletion.Interrupt };
/// </code></example>
public enum DiskCompletion
{
    /// <summary>The driver polls: Status or the bus master (IDE), the phase tag (NVMe), the used ring (virtio). The guest's <c>wait=poll</c>.</summary>
    Poll,

    /// <summary>
    /// The driver sleeps until the device signals: full mode <c>sti; hlt</c> until the device's IRQ
    /// arrives through the virtual IDT, para mode <c>SchedOp(block)</c> until the queue's event
    /// channel. The guest's <c>wait=block</c>.
    /// </summary>
    Interrupt,
}
