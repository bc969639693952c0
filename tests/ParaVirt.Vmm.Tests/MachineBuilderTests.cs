using System.IO;
using ParaVirt.Abi;
using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated;
using ParaVirt.Devices.Emulated.Ata;
using ParaVirt.Devices.Emulated.Pit;
using ParaVirt.Devices.Emulated.Rtc;
using ParaVirt.Devices.Emulated.Uart;

namespace ParaVirt.Vmm.Tests;

/// <summary>What the one composition root attaches in each mode: every device once, with one owner.</summary>
public class MachineBuilderTests
{
    private string _diskPath = null!;
    private DiskImage _disk = null!;

    [SetUp]
    public void CreateDisk()
    {
        _diskPath = Path.Combine(Path.GetTempPath(), $"paravirt-vmm-{Guid.NewGuid():N}.img");
        _disk = DiskImage.Create(_diskPath, 2048);
    }

    [TearDown]
    public void DeleteDisk()
    {
        _disk.Dispose();
        File.Delete(_diskPath);
    }

    [Test]
    public void FullModeRegistersEachPcDeviceOnceAndHandsThePitAndRtcToTheCpu()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Full).WithDisk(_disk).Build();
        VirtualMachine vm = machine.Vm;
        LegacyDevices legacy = machine.Legacy!;
        Assert.Multiple(() =>
        {
            Assert.That(vm.PortBus.Resolve(LegacyPorts.PitChannel0, 1, out _), Is.SameAs(legacy.Pit));
            Assert.That(vm.PortBus.Resolve(LegacyPorts.RtcIndex, 1, out _), Is.SameAs(legacy.Rtc));
            Assert.That(vm.PortBus.Resolve(LegacyPorts.Com1, 1, out _), Is.SameAs(legacy.Uart));
            Assert.That(vm.PortBus.Resolve(AtaRegisters.Command, 1, out _), Is.SameAs(legacy.Disk));
            Assert.That(vm.PortBus.Resolve(AtaRegisters.DeviceControl, 1, out _), Is.SameAs(legacy.Disk!.ControlBlock));
            // CPU virtualization delivers IRQ0 from the PIT on the bus, not from one of its own.
            Assert.That(machine.Cpu!.Pit, Is.SameAs(legacy.Pit));
            Assert.That(machine.Cpu.Rtc, Is.SameAs(legacy.Rtc));
            Assert.That(vm.TrapHandler, Is.SameAs(machine.Cpu.Emulator));
            Assert.That(vm.ResumeHook, Is.SameAs(machine.Cpu));
            Assert.That(machine.Virtio, Is.Null);
            Assert.That(machine.Mode, Is.EqualTo(VirtualizationMode.Full));
        });
    }

    [Test]
    public void FullModeWithoutADiskHasNoAtaDevice()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Full).Build();
        Assert.That(machine.Legacy!.Disk, Is.Null);
        Assert.That(machine.Vm.PortBus.Resolve(AtaRegisters.Command, 1, out _), Is.Null);
        Assert.That(machine.Legacy.Ports, Is.EqualTo(LegacyPlatform.PortsFor(withDisk: false)));
    }

    [Test]
    public void ParaModeHasVirtioConsoleAndBlockAndNoPortDevices()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Para).WithDisk(_disk).Build();
        VirtualMachine vm = machine.Vm;
        Assert.Multiple(() =>
        {
            Assert.That(machine.Virtio, Is.Not.Null);
            Assert.That(vm.Hypercalls.Dispatch(vm, (ulong)Hypercall.VirtioDeviceCount, default), Is.EqualTo(2), "virtio-console and virtio-blk");
            Assert.That(machine.Legacy, Is.Null);
            Assert.That(vm.PortBus.Resolve(LegacyPorts.PitChannel0, 1, out _), Is.Null);
            Assert.That(vm.PortBus.Resolve(LegacyPorts.Com1, 1, out _), Is.Null);
            Assert.That(machine.Cpu!.Pit, Is.Null);
            Assert.That(machine.ParaMmu, Is.Not.Null, "the fake engine offers guest paging: para mode gets the paravirtual MMU");
            Assert.That(vm.TrapHandler, Is.SameAs(machine.ParaMmu), "page faults go to the paravirtual MMU");
            Assert.That(vm.ResumeHook, Is.SameAs(machine.Cpu));
        });
    }

    [Test]
    public void ABareMachineHasNoPlatformAndNoCpuVirtualization()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(4UL << 20).Build();
        Assert.Multiple(() =>
        {
            Assert.That(machine.Cpu, Is.Null);
            Assert.That(machine.Legacy, Is.Null);
            Assert.That(machine.Virtio, Is.Null);
            Assert.That(machine.Mode, Is.Null);
            Assert.That(machine.Image, Is.Null);
            Assert.That(machine.Vm.ResumeHook, Is.Null);
            Assert.That(machine.Vm.PortBus.Resolve(LegacyPorts.PitChannel0, 1, out _), Is.Null);
            Assert.That(machine.EngineName, Is.EqualTo("fake"));
        });
    }

    [Test]
    public void ADiskWithoutAModeIsRefused()
    {
        Assert.That(() => MachineBuilder.Create(new FakeEngine()).WithDisk(_disk).Build(),
            Throws.InvalidOperationException.With.Message.Contains("needs a mode"));
    }

    [TestCase(VirtualizationMode.Full, DiskInterface.AtaPio)]
    [TestCase(VirtualizationMode.Para, DiskInterface.VirtioBlk)]
    public void WithDiskAloneGivesTheModesDefaultDisk(VirtualizationMode mode, DiskInterface expected)
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(mode).WithDisk(_disk).Build();
        Assert.That(machine.DiskInterface, Is.EqualTo(expected));
    }

    [Test]
    public void AnExplicitAtaPioDiskIsTheLegacyPrimaryMaster()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Full).WithDisk(_disk, DiskInterface.AtaPio).Build();
        Assert.That(machine.DiskInterface, Is.EqualTo(DiskInterface.AtaPio));
        Assert.That(machine.Vm.PortBus.Resolve(AtaRegisters.Command, 1, out _), Is.SameAs(machine.Legacy!.Disk));
    }

    [Test]
    public void AnIdeDmaDiskIsTheAtaDriveWithItsBusMasterOnOpenPorts()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Full).WithDisk(_disk, DiskInterface.IdeDma).Build();
        LegacyDevices legacy = machine.Legacy!;
        Assert.Multiple(() =>
        {
            Assert.That(machine.DiskInterface, Is.EqualTo(DiskInterface.IdeDma));
            Assert.That(machine.Vm.PortBus.Resolve(AtaRegisters.Command, 1, out _), Is.SameAs(legacy.Disk));
            Assert.That(legacy.BusMaster, Is.Not.Null);
            Assert.That(legacy.BusMaster!.Drive, Is.SameAs(legacy.Disk));
            Assert.That(machine.Vm.PortBus.Resolve(IdeBusMasterRegisters.Command, 1, out _), Is.SameAs(legacy.BusMaster));
            Assert.That(legacy.Ports, Is.EqualTo(LegacyPlatform.PortsFor(withDisk: true, withBusMaster: true)));
            Assert.That(legacy.Ports, Does.Contain(IdeBusMasterRegisters.PrdTableAddress + 3));
        });
    }

    [Test]
    public void AnAtaPioDiskHasNoBusMaster()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Full).WithDisk(_disk).Build();
        Assert.That(machine.Legacy!.BusMaster, Is.Null);
        Assert.That(machine.Vm.PortBus.Resolve(IdeBusMasterRegisters.Command, 1, out _), Is.Null);
        Assert.That(machine.Legacy.Ports, Does.Not.Contain(IdeBusMasterRegisters.Command));
    }

    [Test]
    public void AnExplicitVirtioBlkDiskIsVirtioDevice1()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Para).WithDisk(_disk, DiskInterface.VirtioBlk).Build();
        Assert.That(machine.DiskInterface, Is.EqualTo(DiskInterface.VirtioBlk));
        Assert.That(machine.Vm.Hypercalls.Dispatch(machine.Vm, (ulong)Hypercall.VirtioDeviceCount, default), Is.EqualTo(2));
    }

    [TestCase(VirtualizationMode.Full, DiskInterface.VirtioBlk)]
    [TestCase(VirtualizationMode.Full, DiskInterface.VirtioBlkAsync)]
    [TestCase(VirtualizationMode.Para, DiskInterface.AtaPio)]
    [TestCase(VirtualizationMode.Para, DiskInterface.IdeDma)]
    [TestCase(VirtualizationMode.Para, DiskInterface.Nvme)]
    public void ADiskOfTheOtherModeIsRefused(VirtualizationMode mode, DiskInterface disk)
    {
        Assert.That(() => MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(mode).WithDisk(_disk, disk).Build(),
            Throws.InvalidOperationException.With.Message.Contains($"the disk interface {disk} is a").And.Message.Contains($"in {mode.ToString().ToLowerInvariant()} mode"));
    }

    [Test]
    public void AnNvmeDiskIsTheControllerOnTheMmioBusAndNoAtaPortIsOpen()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Full).WithDisk(_disk, DiskInterface.Nvme).Build();
        Assert.That(machine.DiskInterface, Is.EqualTo(DiskInterface.Nvme));
        Assert.That(machine.Nvme, Is.Not.Null);
        Assert.That(machine.Vm.MmioBus.Resolve(ParaVirt.Abi.Nvme.NvmeRegisters.BarBase, 4, out _), Is.SameAs(machine.Nvme));
        Assert.That(machine.Nvme!.Disk, Is.SameAs(_disk));
        Assert.That(machine.Legacy!.Disk, Is.Null);
        Assert.That(machine.Vm.PortBus.Resolve(AtaRegisters.Command, 1, out _), Is.Null);
    }

    [Test]
    public void TheNvmeControllersInterruptRaisesItsLineOnTheVirtualCpu()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Full).WithDisk(_disk, DiskInterface.Nvme).Build();
        Assert.That(machine.Cpu!.PendingLines & (1L << ParaVirt.Abi.Nvme.NvmeRegisters.InterruptLine), Is.Zero);
        machine.Nvme!.InterruptRequested!();
        Assert.That(machine.Cpu.PendingLines & (1L << ParaVirt.Abi.Nvme.NvmeRegisters.InterruptLine), Is.Not.Zero);
    }

    [Test]
    public void VirtioBlkAsyncNeedsAnEngineWithDoorbells()
    {
        Assert.That(() => MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Para).WithDisk(_disk, DiskInterface.VirtioBlkAsync).Build(),
            Throws.InstanceOf<NotSupportedException>().With.Message.Contains("has no doorbells"));
    }

    [Test]
    public void AnUndefinedDiskInterfaceIsRefused()
    {
        Assert.That(() => MachineBuilder.Create(new FakeEngine()).WithDisk(_disk, (DiskInterface)99), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void TheDiskInterfacesModesAndDefaults()
    {
        Assert.Multiple(() =>
        {
            Assert.That(DiskInterfaces.ModeOf(DiskInterface.AtaPio), Is.EqualTo(VirtualizationMode.Full));
            Assert.That(DiskInterfaces.ModeOf(DiskInterface.IdeDma), Is.EqualTo(VirtualizationMode.Full));
            Assert.That(DiskInterfaces.ModeOf(DiskInterface.Nvme), Is.EqualTo(VirtualizationMode.Full));
            Assert.That(DiskInterfaces.ModeOf(DiskInterface.VirtioBlk), Is.EqualTo(VirtualizationMode.Para));
            Assert.That(DiskInterfaces.ModeOf(DiskInterface.VirtioBlkAsync), Is.EqualTo(VirtualizationMode.Para));
            Assert.That(DiskInterfaces.DefaultFor(VirtualizationMode.Full), Is.EqualTo(DiskInterface.AtaPio));
            Assert.That(DiskInterfaces.DefaultFor(VirtualizationMode.Para), Is.EqualTo(DiskInterface.VirtioBlk));
            Assert.That(DiskInterfaces.All.ToArray(), Is.EqualTo(Enum.GetValues<DiskInterface>()));
        });
    }

    [Test]
    public void TheCommandLineIsSet()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(4UL << 20).WithCommandLine("blk-read 64").Build();
        Assert.That(machine.Vm.CommandLine.ToArray(), Is.EqualTo("blk-read 64"u8.ToArray()));
    }
}
