using System.Collections.Generic;
using System.Linq;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary><c>blk-randread</c> at queue depth 1 and 32: random 4 KiB reads, verified, on every built disk.</summary>
public sealed class RandomReadWorkloadTests : KvmWorkloadFixture
{
    [Test]
    public void The_request_stream_is_deterministic_and_spreads_over_the_disk()
    {
        var seen = new HashSet<ulong>();
        for (long i = 0; i < 1024; i++)
        {
            ulong block = RandomRequests.Block(i, 1024);
            Assert.That(block, Is.LessThan(1024UL));
            Assert.That(RandomRequests.Block(i, 1024), Is.EqualTo(block));
            seen.Add(block);
        }
        // 1024 draws from 1024 blocks reach about 1 - 1/e of them: far from sequential, far from stuck.
        Assert.That(seen.Count, Is.InRange(550, 750));
        Assert.That(Enumerable.Range(0, 16).Select(i => RandomRequests.Block(i, 1024)), Is.Not.EqualTo(Enumerable.Range(0, 16).Select(i => (ulong)i)));
    }

    [TestCase("blk-randread", DiskInterface.AtaPio)]
    [TestCase("blk-randread-qd32", DiskInterface.AtaPio)]
    [TestCase("blk-randread", DiskInterface.IdeDma)]
    [TestCase("blk-randread-qd32", DiskInterface.IdeDma)]
    public void Full_mode_disks_have_no_queue_so_both_depths_cost_the_same_per_request(string name, DiskInterface disk)
    {
        WorkloadResult r = Run(WorkloadCatalog.Find(name)!, VirtualizationMode.Full, 64, disk: disk);
        AssertVerified(r);
        long perRequest = disk == DiskInterface.IdeDma ? HostFacts.IdeDmaExitsPerRequest : HostFacts.AtaReadExitsPerRequest;
        Assert.That(r.Exits, Is.EqualTo(perRequest * r.Operations));
    }

    [TestCase("blk-randread", 1)]
    [TestCase("blk-randread-qd32", 32)]
    public void Virtio_blk_makes_one_notify_per_batch_of_the_queue_depth(string name, int depth)
    {
        WorkloadResult r = Run(WorkloadCatalog.Find(name)!, VirtualizationMode.Para, 200, disk: DiskInterface.VirtioBlk);
        AssertVerified(r);
        Assert.That(r.Exits, Is.EqualTo((200 + depth - 1) / depth));
        Assert.That(r.ExitsByReason["Hypercall"], Is.EqualTo(r.Exits));
    }

    [Test]
    public void A_random_read_of_a_blank_disk_does_not_verify()
    {
        string disk = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            System.IO.File.WriteAllBytes(disk, new byte[32 * 4096]);
            foreach (DiskInterface d in new[] { DiskInterface.IdeDma, DiskInterface.VirtioBlk })
            {
                WorkloadResult r = Run(WorkloadCatalog.BlockRandomReadQd32, DiskInterfaces.ModeOf(d), 32, disk, d);
                Assert.That(r.ExitCode, Is.EqualTo(WorkloadProtocol.ExitVerifyFailed), $"{d}");
            }
        }
        finally
        {
            System.IO.File.Delete(disk);
        }
    }
}
