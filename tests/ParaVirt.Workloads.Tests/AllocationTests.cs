using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>
/// The host's hot paths allocate nothing per exit or per operation: the VM runs on the calling
/// thread, so the bytes that thread allocates for a long run and for a short run differ by far less
/// than one object per extra exit would make.
/// </summary>
public sealed class AllocationTests : KvmWorkloadFixture
{
    [TestCase("console", VirtualizationMode.Full, 500, 4000)]      // 7000 more port exits (UART, console pipe)
    [TestCase("blk-read", VirtualizationMode.Full, 16, 128)]       // 2688 more port exits (ATA, rep insw)
    [TestCase("blk-read", VirtualizationMode.Full, 16, 512, DiskInterface.IdeDma)]  // 4464 more port exits (IDE bus-master DMA)
    [TestCase("blk-write", VirtualizationMode.Full, 16, 512, DiskInterface.IdeDma)]
    [TestCase("blk-read", VirtualizationMode.Full, 16, 512, DiskInterface.IdeDma, DiskCompletion.Interrupt)]  // 1984 more IRQ14 sleeps (trap emulation, interrupt delivery)
    [TestCase("blk-read", VirtualizationMode.Full, 64, 2048, DiskInterface.Nvme)]  // 124 more doorbells, 1984 more commands (NVMe)
    [TestCase("blk-randread", VirtualizationMode.Full, 16, 512, DiskInterface.Nvme, DiskCompletion.Interrupt)]  // 496 more interrupt-completed batches
    [TestCase("blk-read", VirtualizationMode.Para, 64, 1024)]      // 30 more notifies, 960 more requests (virtio-blk)
    [TestCase("blk-write", VirtualizationMode.Para, 64, 1024)]
    public void A_longer_run_allocates_no_more_on_the_vcpu_thread(string name, VirtualizationMode mode, long shortRun, long longRun, DiskInterface? disk = null, DiskCompletion completion = DiskCompletion.Poll)
    {
        WorkloadDefinition workload = WorkloadCatalog.Find(name)!;
        Run(workload, mode, shortRun, disk: disk, completion: completion); // warm up: JIT, pools

        long shortBytes = Allocated(() => AssertVerified(Run(workload, mode, shortRun, disk: disk, completion: completion)));
        long longBytes = Allocated(() => AssertVerified(Run(workload, mode, longRun, disk: disk, completion: completion)));

        TestContext.Out.WriteLine($"{name} {mode}: {shortBytes} B for {shortRun} ops, {longBytes} B for {longRun} ops");
        Assert.That(longBytes - shortBytes, Is.LessThan(16 * 1024));
    }

    private static long Allocated(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
