using System.Linq;
using System.IO;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Virtio;
using ParaVirt.Vmm;

namespace ParaVirt.Virtio.Tests;

/// <summary>
/// Devices on a VM's transport (<see cref="VirtioTransport.Attach"/>) write only where the guest
/// may write: a buffer, ring or info structure on the read-only hypercall or start-info page is
/// refused and nothing is written there.
/// </summary>
public sealed class ReadOnlyPageTests
{
    private const ulong Ram = 0x200000;
    private const ulong Header = Ram + 0x10000, Data = Ram + 0x20000, Status = Ram + 0x30000;
    private VirtualMachine _vm = null!;
    private DiskImage _disk = null!;
    private string _path = null!;
    private VirtioTransport _transport = null!;
    private VirtioBlock _block = null!;
    private DriverRing _ring = null!;
    private byte[] _stubs = null!, _startInfo = null!;

    [SetUp]
    public void SetUp()
    {
        _vm = MachineBuilder.Create(new FakeEngine()).WithMemory(4UL << 20).Build().Vm;
        _stubs = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 1)).ToArray();
        _startInfo = Enumerable.Range(0, 4096).Select(i => (byte)(i * 13 + 5)).ToArray();
        Assert.That(_vm.PhysicalMemory.TryWrite(_vm.Layout.HypercallPage, _stubs), Is.True);
        Assert.That(_vm.PhysicalMemory.TryWrite(_vm.Layout.StartInfoPage, _startInfo), Is.True);

        _path = Path.Combine(Path.GetTempPath(), $"paravirt-blk-ro-{Guid.NewGuid():N}.img");
        _disk = DiskImage.Create(_path, 64);
        Span<byte> sector = stackalloc byte[512];
        sector.Fill(0xAB);
        for (ulong s = 0; s < 64; s++)
            Assert.That(_disk.TryWrite(s, sector), Is.True);
        _transport = VirtioTransport.Attach(_vm);
        _block = new VirtioBlock(_transport.Memory, _disk);
        _transport.Add(_block);
        _ring = new DriverRing(_vm.PhysicalMemory, 16, Ram + 0x1000, Ram + 0x3000, Ram + 0x4000);
        _transport.Negotiate(0, ulong.MaxValue);
        _transport.SetupQueue(0, 0, _ring);
        _transport.DriverOk(0);
    }

    [TearDown]
    public void TearDown()
    {
        _disk.Dispose();
        _vm.Dispose();
        File.Delete(_path);
    }

    private void AssertPagesUnchanged()
    {
        var page = new byte[4096];
        Assert.That(_vm.PhysicalMemory.TryRead(_vm.Layout.HypercallPage, page), Is.True);
        Assert.That(page, Is.EqualTo(_stubs), "the hypercall page is unchanged");
        Assert.That(_vm.PhysicalMemory.TryRead(_vm.Layout.StartInfoPage, page), Is.True);
        Assert.That(page, Is.EqualTo(_startInfo), "the start-info page is unchanged");
    }

    /// <summary>A read (IN) of one sector into <paramref name="data"/>: [header R][data W 512][status W 1].</summary>
    private long Read(ulong data, ulong status = Status)
    {
        Assert.That(_vm.PhysicalMemory.TryWrite(Header, new VirtioBlkReqHeader { Type = VirtioBlkRequestType.In, Sector = 1 }), Is.True);
        _ring.SetDesc(0, Header, 16, VirtqDescFlags.Next, 1);
        _ring.SetDesc(1, data, 512, VirtqDescFlags.Next | VirtqDescFlags.Write, 2);
        _ring.SetDesc(2, status, 1, VirtqDescFlags.Write);
        _ring.Publish(0);
        return _transport.Call(Hypercall.VirtioNotify, 0, 0);
    }

    [Test]
    public void AReadIntoRamWorks()
    {
        Assert.That(Read(Data), Is.EqualTo(1));
        Assert.That(_vm.PhysicalMemory.TryRead(Data, out byte first), Is.True);
        Assert.That(first, Is.EqualTo(0xAB));
        Assert.That(_block.NeedsReset, Is.False);
    }

    [TestCase(0x10000UL)] // the hypercall page
    [TestCase(0x11000UL)] // the start-info page
    public void AReadIntoAReadOnlyPageFailsTheDeviceWithoutWriting(ulong page)
    {
        Assert.That(_vm.PhysicalMemory.TryWrite(Status, (byte)0x55), Is.True);
        Assert.That(Read(page), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_block.NeedsReset, Is.True);
        AssertPagesUnchanged();
        Assert.That(_vm.PhysicalMemory.TryRead(Status, out byte status), Is.True);
        Assert.That(status, Is.EqualTo(0x55), "the request was not completed");
        Assert.That(_ring.UsedIdx, Is.Zero);
    }

    [Test]
    public void AStatusByteOnTheHypercallPageFailsTheDevice()
    {
        Assert.That(Read(Data, _vm.Layout.HypercallPage + 0x20), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_block.NeedsReset, Is.True);
        AssertPagesUnchanged();
    }

    [Test]
    public void AUsedRingOnTheHypercallPageIsRefusedAtSetup()
    {
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, 0), Is.Zero);
        _transport.Negotiate(0, ulong.MaxValue);
        long setup = _transport.Call(Hypercall.VirtioSetupQueue, 0, 0, Ram + 0x1000, Ram + 0x3000, _vm.Layout.HypercallPage, 16);
        Assert.That(setup, Is.Negative);
        AssertPagesUnchanged();
    }

    [Test]
    public void DeviceInfoAndConfigAreNotWrittenOnTheStartInfoPage()
    {
        Assert.That(_transport.Call(Hypercall.VirtioDeviceInfo, 0, _vm.Layout.StartInfoPage), Is.EqualTo((long)HypercallStatus.BadAddress));
        Assert.That(_transport.Call(Hypercall.VirtioReadConfig, 0, 0, _vm.Layout.StartInfoPage + 64, 8), Is.EqualTo((long)HypercallStatus.BadAddress));
        AssertPagesUnchanged();
    }
}
