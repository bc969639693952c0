using System.IO;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>The block workloads on the IDE bus-master DMA disk, in a real KVM guest with the guest SDK's IdeDmaDriver.</summary>
public sealed class IdeDmaWorkloadTests : KvmWorkloadFixture
{
    [TestCase("blk-read")]
    [TestCase("blk-write")]
    public void Each_4_KiB_request_costs_the_drivers_port_exits(string name)
    {
        WorkloadResult r = Run(WorkloadCatalog.Find(name)!, VirtualizationMode.Full, 64, disk: DiskInterface.IdeDma);

        AssertVerified(r);
        Assert.That(r.Device, Is.EqualTo("ide-dma"));
        Assert.That(r.Exits, Is.EqualTo(HostFacts.IdeDmaExitsPerRequest * r.Operations));
        Assert.That(r.ExitsByReason["PortIo"], Is.EqualTo(r.Exits));
    }

    [Test]
    public void What_ide_dma_writes_ata_pio_and_virtio_blk_read_back()
    {
        string disk = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            AssertVerified(Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Full, 48, disk, DiskInterface.IdeDma));
            AssertVerified(Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 48, disk, DiskInterface.AtaPio));
            AssertVerified(Run(WorkloadCatalog.BlockRead, VirtualizationMode.Para, 48, disk, DiskInterface.VirtioBlk));
            AssertVerified(Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 48, disk, DiskInterface.IdeDma));
        }
        finally
        {
            File.Delete(disk);
        }
    }

    [Test]
    public void A_flipped_byte_is_found_through_ide_dma()
    {
        string disk = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            AssertVerified(Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Para, 32, disk));
            using (var file = new FileStream(disk, FileMode.Open, FileAccess.ReadWrite))
            {
                file.Position = 77 * 512 + 300;
                int b = file.ReadByte();
                file.Position--;
                file.WriteByte((byte)(b ^ 0x80));
            }
            WorkloadResult r = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 32, disk, DiskInterface.IdeDma);
            Assert.That(r.ExitCode, Is.EqualTo(WorkloadProtocol.ExitVerifyFailed));
            Assert.That(r.ConsoleTail, Does.Contain("1 sector(s) differ from the pattern, the first at sector 77"));
        }
        finally
        {
            File.Delete(disk);
        }
    }

    [Test]
    public void A_disk_too_small_is_reported_through_ide_dma()
    {
        string disk = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            File.WriteAllBytes(disk, new byte[4 * 4096]);
            WorkloadResult r = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 8, disk, DiskInterface.IdeDma);
            Assert.That(r.ExitCode, Is.EqualTo(WorkloadProtocol.ExitDiskTooSmall));
        }
        finally
        {
            File.Delete(disk);
        }
    }
}
