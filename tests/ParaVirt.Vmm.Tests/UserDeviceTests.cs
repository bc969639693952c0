using System.IO;
using ParaVirt.Abi;
using ParaVirt.Cli.Tests.Devices;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Vmm.Tests;

/// <summary>
/// A user's virtio devices: found in an assembly by <see cref="VirtioDeviceAttribute"/> or
/// <see cref="IVirtioDeviceFactory"/>, attached by the one composition root after the built-in
/// devices, para mode only, with the options string as given.
/// </summary>
public class UserDeviceTests
{
    [Test]
    public void DiscoveryFindsAttributeDevicesAndFactoriesByName()
    {
        IReadOnlyList<VirtioDeviceProvider> found = VirtioDeviceDiscovery.Find(typeof(TestRng).Assembly);
        Assert.That(found.Select(d => (d.Name, d.TypeName)), Is.EquivalentTo(new[]
        {
            ("rng", typeof(TestRng).FullName),
            ("broken", typeof(BrokenDevice).FullName),
            ("seeded-rng", typeof(SeededRngFactory).FullName),
        }));
    }

    [Test]
    public void TheBuilderAttachesUserDevicesAfterConsoleAndBlockWithTheirOptions()
    {
        string path = Path.Combine(Path.GetTempPath(), $"paravirt-vmm-user-{Guid.NewGuid():N}.img");
        using DiskImage disk = DiskImage.Create(path, 64);
        try
        {
            IReadOnlyList<VirtioDeviceProvider> found = VirtioDeviceDiscovery.Find(typeof(TestRng).Assembly);
            VirtioDeviceProvider rng = found.Single(d => d.Name == "rng"), seeded = found.Single(d => d.Name == "seeded-rng");
            using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Para).WithDisk(disk)
                .WithVirtioDevice(memory => rng.Create(memory, "seed=7"))
                .WithVirtioDevice(memory => seeded.Create(memory, ""))
                .Build();
            VirtualMachine vm = machine.Vm;
            Assert.Multiple(() =>
            {
                Assert.That(vm.Hypercalls.Dispatch(vm, (ulong)Hypercall.VirtioDeviceCount, default), Is.EqualTo(4));
                Assert.That(machine.Virtio!.Devices[0], Is.InstanceOf<VirtioConsole>());
                Assert.That(machine.Virtio.Devices[1], Is.InstanceOf<VirtioBlock>());
                Assert.That(((TestRng)machine.Virtio.Devices[2]).Options, Is.EqualTo("seed=7"));
                Assert.That(((TestRng)machine.Virtio.Devices[3]).Options, Is.EqualTo("seed=42"), "the factory's default");
                Assert.That(machine.Virtio.Devices[2].Memory, Is.SameAs(machine.Virtio.Memory));
            });
        }
        finally
        {
            disk.Dispose();
            File.Delete(path);
        }
    }

    [Test]
    public void AConstructorThatThrowsSurfacesFromBuildUnwrapped()
    {
        VirtioDeviceProvider broken = VirtioDeviceDiscovery.Find(typeof(TestRng).Assembly).Single(d => d.Name == "broken");
        MachineBuilder builder = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithMode(VirtualizationMode.Para)
            .WithVirtioDevice(memory => broken.Create(memory, ""));
        Assert.That(() => builder.Build(), Throws.InvalidOperationException.With.Message.EqualTo("the test device refuses to start"));
    }

    [TestCase(null)]
    [TestCase(VirtualizationMode.Full)]
    public void AVirtioDeviceOutsideParaModeIsRefused(VirtualizationMode? mode)
    {
        MachineBuilder builder = MachineBuilder.Create(new FakeEngine()).WithMemory(8UL << 20).WithVirtioDevice(memory => new TestRng(memory, ""));
        if (mode is { } m)
            builder.WithMode(m);
        Assert.That(() => builder.Build(), Throws.InvalidOperationException.With.Message.Contains("para mode"));
    }
}
