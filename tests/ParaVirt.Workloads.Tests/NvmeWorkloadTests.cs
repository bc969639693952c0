using System.IO;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>The block workloads on <c>disk=nvme</c> in full mode: exact exits per batch, data integrity across devices, no allocation per request.</summary>
public sealed class NvmeWorkloadTests : KvmWorkloadFixture
{
    private static WorkloadResult RunNvme(WorkloadDefinition workload, long operations, string? diskPath = null)
    {
        WorkloadResult result = Runner.Run(workload, VirtualizationMode.Full, new WorkloadRunOptions
        {
            Quick = true,
            Operations = operations,
            DiskPath = diskPath,
            DiskInterface = DiskInterface.Nvme,
            Timeout = TimeSpan.FromMinutes(2),
        });
        TestContext.Out.WriteLine($"{result.Workload} {result.Mode} {result.Device}: {result.Operations} ops, {result.Exits} exits ({string.Join(", ", result.ExitsByReason)}), {result.NsPerOp:F0} ns/op, verified {result.Verified} {result.Failure}");
        return result;
    }

    [TestCase("blk-write")]
    [TestCase("blk-read")]
    public void Nvme_makes_one_doorbell_exit_per_32_requests_plus_one_completion_doorbell(string name)
    {
        WorkloadResult r = RunNvme(WorkloadCatalog.Find(name)!, 200);

        AssertVerified(r);
        Assert.That(r.Device, Is.EqualTo("nvme"));
        // 7 batches (6 of 32, one of 8): each is one SQ tail doorbell write (the controller completes
        // the batch inside that exit) and one CQ head doorbell write after the phase-tag poll.
        Assert.That(r.Exits, Is.EqualTo(2 * ((200 + 31) / 32)));
        Assert.That(r.ExitsByReason["Mmio"], Is.EqualTo(r.Exits));
    }

    [TestCase("blk-randread", 1)]
    [TestCase("blk-randread-qd32", 32)]
    public void Random_reads_make_two_doorbell_exits_per_batch_of_the_queue_depth(string name, int depth)
    {
        WorkloadResult r = RunNvme(WorkloadCatalog.Find(name)!, 200);

        AssertVerified(r);
        // Queue depth 1: a tail and a head doorbell per request; 32: per 32 requests (7 batches for 200).
        Assert.That(r.Exits, Is.EqualTo(2 * ((200 + depth - 1) / depth)));
        Assert.That(r.ExitsByReason["Mmio"], Is.EqualTo(r.Exits));
    }

    [Test]
    public void What_nvme_writes_ata_reads_back_and_nvme_finds_a_flipped_byte()
    {
        string disk = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            AssertVerified(RunNvme(WorkloadCatalog.BlockWrite, 64, disk));
            AssertVerified(Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 64, disk));

            using (var file = new FileStream(disk, FileMode.Open, FileAccess.ReadWrite))
            {
                file.Position = 100 * 512 + 17; // sector 100, inside request 12
                int b = file.ReadByte();
                file.Position--;
                file.WriteByte((byte)(b ^ 0x01));
            }
            WorkloadResult corrupt = RunNvme(WorkloadCatalog.BlockRead, 64, disk);
            Assert.That(corrupt.Verified, Is.False);
            Assert.That(corrupt.ExitCode, Is.EqualTo(WorkloadProtocol.ExitVerifyFailed));
            Assert.That(corrupt.ConsoleTail, Does.Contain("1 sector(s) differ from the pattern, the first at sector 100"));
        }
        finally
        {
            File.Delete(disk);
        }
    }

    [Test]
    public void A_disk_too_small_for_the_workload_is_reported_by_the_guest()
    {
        string disk = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            File.WriteAllBytes(disk, new byte[4 * 4096]);
            WorkloadResult r = RunNvme(WorkloadCatalog.BlockRead, 8, disk);
            Assert.That(r.ExitCode, Is.EqualTo(WorkloadProtocol.ExitDiskTooSmall), r.ConsoleTail);
        }
        finally
        {
            File.Delete(disk);
        }
    }

    [TestCase("blk-read")]
    [TestCase("blk-write")]
    public void A_longer_run_allocates_no_more_on_the_vcpu_thread(string name)
    {
        WorkloadDefinition workload = WorkloadCatalog.Find(name)!;
        RunNvme(workload, 64); // warm up

        long shortBytes = Allocated(() => AssertVerified(RunNvme(workload, 64)));
        long longBytes = Allocated(() => AssertVerified(RunNvme(workload, 1024))); // 60 more doorbell exits, 960 more requests

        TestContext.Out.WriteLine($"{name} nvme: {shortBytes} B for 64 ops, {longBytes} B for 1024 ops");
        Assert.That(longBytes - shortBytes, Is.LessThan(16 * 1024));
    }

    private static long Allocated(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
