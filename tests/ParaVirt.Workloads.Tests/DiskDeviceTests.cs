using System.IO;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Image;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>The disk device as a dimension: wire names shared with the guest, and the guest's answer to a disk it does not drive.</summary>
public sealed class DiskDeviceTests : KvmWorkloadFixture
{
    [Test]
    public void Every_disk_interface_has_a_wire_name_that_parses_back()
    {
        foreach (DiskInterface d in Enum.GetValues<DiskInterface>())
        {
            Assert.That(DiskDevices.TryParse(DiskDevices.WireName(d), out DiskInterface back), Is.True, $"{d}");
            Assert.That(back, Is.EqualTo(d));
            Assert.That(DiskDevices.Of(DiskInterfaces.ModeOf(d)), Does.Contain(d));
        }
        Assert.That(DiskDevices.WireName(DiskInterface.IdeDma), Is.EqualTo("ide-dma"));
        Assert.That(DiskDevices.WireName(DiskInterface.VirtioBlkAsync), Is.EqualTo("virtio-blk-async"));
        Assert.That(DiskDevices.TryParse("IDE-DMA", out _), Is.False);
        Assert.That(DiskDevices.TryParse(null, out _), Is.False);
    }

    [Test]
    public void A_run_reports_its_device_and_a_workload_without_a_disk_reports_none()
    {
        WorkloadResult blk = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 8);
        AssertVerified(blk);
        Assert.That(blk.Device, Is.EqualTo("ata-pio"));
        WorkloadResult para = Run(WorkloadCatalog.BlockRead, VirtualizationMode.Para, 8);
        Assert.That(para.Device, Is.EqualTo("virtio-blk"));
        WorkloadResult console = Run(WorkloadCatalog.Console, VirtualizationMode.Para, 8);
        Assert.That(console.Device, Is.Null);
    }

    [TestCase(VirtualizationMode.Full, "blk-read 8 disk=bogus", WorkloadProtocol.ExitUnknownDisk)]
    [TestCase(VirtualizationMode.Full, "blk-read 8 disk=virtio-blk", WorkloadProtocol.ExitUnknownDisk)]
    [TestCase(VirtualizationMode.Para, "blk-read 8 disk=ata-pio", WorkloadProtocol.ExitUnknownDisk)]
    [TestCase(VirtualizationMode.Full, "blk-read 8 disk=", WorkloadProtocol.ExitBadCommandLine)]
    [TestCase(VirtualizationMode.Full, "blk-read 8 junk", WorkloadProtocol.ExitBadCommandLine)]
    [TestCase(VirtualizationMode.Full, "blk-read 8 disk=ata-pio", WorkloadProtocol.ExitOk)]
    [TestCase(VirtualizationMode.Para, "blk-read 8 disk=virtio-blk", WorkloadProtocol.ExitOk)]
    [TestCase(VirtualizationMode.Para, "blk-read 8", WorkloadProtocol.ExitOk)]
    public void The_guest_reads_its_disk_from_the_command_line(VirtualizationMode mode, string commandLine, int expectedExit)
    {
        string path = Path.Combine(Path.GetTempPath(), $"paravirt-test-{Guid.NewGuid():N}.img");
        try
        {
            using (DiskImage disk = DiskImage.Create(path, 64))
            {
                DiskPattern.Fill(disk, 64);
                using Machine machine = MachineBuilder.Create(Engines.Default)
                    .WithMemory(32UL << 20)
                    .WithMode(mode)
                    .WithDisk(disk)
                    .WithCommandLine(commandLine)
                    .WithImage(PvImageReader.ReadFile(WorkloadImages.Find(mode)))
                    .Build();
                VmStopReason stop = machine.Run(TimeSpan.FromMinutes(2));
                Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.ToString());
                Assert.That(stop.ExitCode, Is.EqualTo(expectedExit));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
