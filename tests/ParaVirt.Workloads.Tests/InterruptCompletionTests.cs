using System.Linq;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>
/// Full-mode disks that complete by interrupt (<see cref="DiskCompletion.Interrupt"/>, the guest's
/// <c>wait=block</c>): the device raises its line inside the exit that starts the work (IDE: IRQ14
/// from the drive's INTRQ; NVMe: its pin, line 11), CPU virtualization delivers it through the
/// guest's virtual IDT at the guest's <c>sti; hlt</c>, and the driver takes the completion after the
/// handler ran. Without the line wired, the guest's hlt could never be woken and the VM would stop.
/// </summary>
public sealed class InterruptCompletionTests : KvmWorkloadFixture
{
    [TestCase("blk-read")]
    [TestCase("blk-write")]
    [TestCase("blk-randread")]
    public void Ide_dma_completes_by_irq14_through_the_virtual_idt(string name)
    {
        WorkloadResult r = Run(WorkloadCatalog.Find(name)!, VirtualizationMode.Full, 48, disk: DiskInterface.IdeDma, completion: DiskCompletion.Interrupt);

        AssertVerified(r);
        Assert.That(r.Completion, Is.EqualTo(DiskCompletion.Interrupt));
        // The polled driver's port accesses, unchanged, plus one sleep per request.
        Assert.That(r.ExitsByReason["PortIo"], Is.EqualTo(HostFacts.IdeDmaExitsPerRequest * r.Operations));
        Assert.That(r.ExitsByReason["Trap"], Is.EqualTo(HostFacts.InterruptWaitTraps * r.Operations));
        AssertOnlyKicksBesides(r, "PortIo", "Trap");
    }

    [TestCase("blk-randread-qd32", 256, 32)]
    [TestCase("blk-randread", 64, 1)]
    public void Nvme_completes_each_batch_by_its_interrupt(string name, long operations, int queueDepth)
    {
        WorkloadResult r = Run(WorkloadCatalog.Find(name)!, VirtualizationMode.Full, operations, disk: DiskInterface.Nvme, completion: DiskCompletion.Interrupt);

        AssertVerified(r);
        long batches = operations / queueDepth;
        // Per batch: the SQ tail doorbell, the CQ head doorbell, and one sleep for the interrupt.
        Assert.That(r.ExitsByReason["Mmio"], Is.EqualTo(2 * batches));
        Assert.That(r.ExitsByReason["Trap"], Is.EqualTo(HostFacts.InterruptWaitTraps * batches));
        AssertOnlyKicksBesides(r, "Mmio", "Trap");
    }

    [Test]
    public void Polling_the_same_devices_takes_no_trap()
    {
        WorkloadResult ide = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 16, disk: DiskInterface.IdeDma);
        WorkloadResult nvme = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 64, disk: DiskInterface.Nvme);

        AssertVerified(ide);
        AssertVerified(nvme);
        Assert.That(ide.Completion, Is.EqualTo(DiskCompletion.Poll));
        Assert.That(ide.ExitsByReason.ContainsKey("Trap"), Is.False);
        Assert.That(nvme.ExitsByReason.ContainsKey("Trap"), Is.False);
    }

    [Test]
    public void A_device_that_completes_inside_its_exit_has_no_interrupt_completion()
    {
        Assert.Throws<ArgumentException>(() => Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 8, disk: DiskInterface.AtaPio, completion: DiskCompletion.Interrupt));
        Assert.Throws<ArgumentException>(() => Run(WorkloadCatalog.BlockRead, VirtualizationMode.Para, 8, disk: DiskInterface.VirtioBlk, completion: DiskCompletion.Interrupt));
    }

    /// <summary>Kicks (Interrupted exits) come from the host's deadline timer and may land anywhere; nothing else may appear.</summary>
    private static void AssertOnlyKicksBesides(WorkloadResult r, params string[] expected) =>
        Assert.That(r.ExitsByReason.Keys.Where(k => !expected.Contains(k) && k != "Interrupted"), Is.Empty);
}
