using System.IO;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads.Tests;

public sealed class BlockWorkloadTests : KvmWorkloadFixture
{
    [Test]
    public void Full_read_makes_the_probed_port_exits_per_4_KiB_request()
    {
        WorkloadResult r = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full);

        AssertVerified(r);
        Assert.That(r.Exits, Is.EqualTo(HostFacts.AtaReadExitsPerRequest * r.Operations));
        Assert.That(r.ExitsByReason["PortIo"], Is.EqualTo(r.Exits));
    }

    [Test]
    public void Full_write_exits_are_the_same_for_every_request()
    {
        WorkloadResult r = Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Full, 8);

        AssertVerified(r);
        // KVM hands rep outsw to user space either a page at a time (1 exit per sector) or one word
        // at a time (256 per sector); the engine's probe says which this host does.
        Assert.That(r.Exits, Is.EqualTo(HostFacts.AtaWriteExitsPerRequest * r.Operations));
        Assert.That(r.ExitsByReason["PortIo"], Is.EqualTo(r.Exits));
    }

    [TestCase("blk-write")]
    [TestCase("blk-read")]
    public void Para_makes_one_exit_per_32_requests(string name)
    {
        WorkloadDefinition workload = WorkloadCatalog.Find(name)!;
        WorkloadResult r = Run(workload, VirtualizationMode.Para, 200);

        AssertVerified(r);
        Assert.That(r.Exits, Is.EqualTo((200 + 31) / 32));
        Assert.That(r.ExitsByReason["Hypercall"], Is.EqualTo(r.Exits));
        Assert.That(r.ExitsPerOperation, Is.LessThanOrEqualTo(0.05));
    }

    [Test]
    public void What_para_writes_full_reads_back_and_a_flipped_byte_is_found()
    {
        string disk = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            WorkloadResult write = Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Para, 64, disk);
            AssertVerified(write);

            WorkloadResult clean = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 64, disk);
            AssertVerified(clean);

            using (var file = new FileStream(disk, FileMode.Open, FileAccess.ReadWrite))
            {
                file.Position = 100 * 512 + 17; // sector 100, inside request 12
                int b = file.ReadByte();
                file.Position--;
                file.WriteByte((byte)(b ^ 0x01));
            }

            foreach (VirtualizationMode mode in new[] { VirtualizationMode.Full, VirtualizationMode.Para })
            {
                WorkloadResult corrupt = Run(WorkloadCatalog.BlockRead, mode, 64, disk);
                Assert.That(corrupt.Verified, Is.False, $"{mode}");
                Assert.That(corrupt.ExitCode, Is.EqualTo(WorkloadProtocol.ExitVerifyFailed), $"{mode}");
                Assert.That(corrupt.ConsoleTail, Does.Contain("1 sector(s) differ from the pattern, the first at sector 100"), $"{mode}");
            }
        }
        finally
        {
            File.Delete(disk);
        }
    }

    [Test]
    public void A_read_of_a_blank_disk_does_not_verify()
    {
        string disk = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            File.WriteAllBytes(disk, new byte[32 * 4096]);
            WorkloadResult r = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Para, 32, disk);
            Assert.That(r.Verified, Is.False);
            Assert.That(r.ExitCode, Is.EqualTo(WorkloadProtocol.ExitVerifyFailed));
        }
        finally
        {
            File.Delete(disk);
        }
    }

    [Test]
    public void A_disk_too_small_for_the_workload_is_reported_by_the_guest([Values] VirtualizationMode mode)
    {
        string disk = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            File.WriteAllBytes(disk, new byte[4 * 4096]);
            WorkloadResult r = Run(WorkloadCatalog.BlockRead, mode, 8, disk);
            Assert.That(r.Verified, Is.False);
            Assert.That(r.ExitCode, Is.EqualTo(WorkloadProtocol.ExitDiskTooSmall));
        }
        finally
        {
            File.Delete(disk);
        }
    }

    [Test]
    public void Temporary_disk_files_are_removed()
    {
        string[] before = Directory.GetFiles(Path.GetTempPath(), "paravirt-blk-*");
        AssertVerified(Run(WorkloadCatalog.BlockRead, VirtualizationMode.Para, 32));
        Assert.That(Directory.GetFiles(Path.GetTempPath(), "paravirt-blk-*"), Is.EquivalentTo(before));
    }
}
