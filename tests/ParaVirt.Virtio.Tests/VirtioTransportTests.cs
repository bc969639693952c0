using System.IO.Pipelines;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Console;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Memory;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Virtio.Tests;

/// <summary>The hypercall transport: device list, status state machine, feature negotiation, queue setup, config.</summary>
public sealed class VirtioTransportTests
{
    private const ulong MemorySize = 1 << 20;
    private const ulong All = ulong.MaxValue;
    private GuestMemory _memory = null!;
    private VirtioTransport _transport = null!;
    private VirtioConsole _console = null!;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(MemorySize);
        _transport = new VirtioTransport(_memory);
        _console = new VirtioConsole(_memory, new GuestConsole(new Pipe().Writer));
        Assert.That(_transport.Add(_console), Is.Zero);
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    [Test]
    public void HypercallNumbersArePinned()
    {
        Assert.That((uint)Hypercall.VirtioDeviceCount, Is.EqualTo(16));
        Assert.That((uint)Hypercall.VirtioDeviceInfo, Is.EqualTo(17));
        Assert.That((uint)Hypercall.VirtioGetFeatures, Is.EqualTo(18));
        Assert.That((uint)Hypercall.VirtioSetFeatures, Is.EqualTo(19));
        Assert.That((uint)Hypercall.VirtioGetStatus, Is.EqualTo(20));
        Assert.That((uint)Hypercall.VirtioSetStatus, Is.EqualTo(21));
        Assert.That((uint)Hypercall.VirtioSetupQueue, Is.EqualTo(22));
        Assert.That((uint)Hypercall.VirtioNotify, Is.EqualTo(23));
        Assert.That((uint)Hypercall.VirtioReadConfig, Is.EqualTo(24));
        Assert.That((uint)Hypercall.VirtioBindAsyncQueue, Is.EqualTo(25));
    }

    [Test]
    public void RegisterPutsTheHandlersInAHypercallTable()
    {
        var table = new HypercallTable();
        _transport.Register(table);
        for (uint n = 16; n <= 25; n++)
            Assert.That(table.NameOf(n), Is.EqualTo(((Hypercall)n).ToString()));
        Assert.That(table.NameOf(26), Is.Null);
    }

    [Test]
    public void EachRegisteredHandlerAnswersAsDispatchDoes()
    {
        var table = new HypercallTable();
        _transport.Register(table);
        Hypercall[] readOnly = [Hypercall.VirtioDeviceCount, Hypercall.VirtioDeviceInfo, Hypercall.VirtioGetFeatures, Hypercall.VirtioGetStatus, Hypercall.VirtioReadConfig];
        foreach (Hypercall call in readOnly)
        {
            foreach (ulong device in new ulong[] { 0, 1, ulong.MaxValue })
            {
                var args = new HypercallArgs(device, 0x8000, 0x8000, 4);
                Assert.That(table.Dispatch(null!, (ulong)call, args), Is.EqualTo(_transport.Dispatch(call, args)), $"{call} on device {device}");
            }
        }
        Assert.That(table.Dispatch(null!, (ulong)Hypercall.VirtioNotify, new HypercallArgs(7, 0)), Is.EqualTo((long)HypercallStatus.NotFound));
    }

    [Test]
    public void DeviceCountAndInfo()
    {
        Assert.That(_transport.Call(Hypercall.VirtioDeviceCount), Is.EqualTo(1));
        Assert.That(_transport.Call(Hypercall.VirtioDeviceInfo, 0, 0x8000), Is.Zero);
        Assert.That(_memory.TryRead(0x8000, out VirtioDeviceInfo info), Is.True);
        Assert.That(info.DeviceId, Is.EqualTo((uint)VirtioDeviceId.Console));
        Assert.That(info.QueueCount, Is.EqualTo(2));
        Assert.That(info.MaxQueueSize, Is.EqualTo(256));
        Assert.That(info.ConfigSize, Is.EqualTo(12));
    }

    [Test]
    public void BadDeviceIndicesAndAddressesAreRefused()
    {
        Assert.That(_transport.Call(Hypercall.VirtioGetStatus, 1), Is.EqualTo((long)HypercallStatus.NotFound));
        Assert.That(_transport.Call(Hypercall.VirtioNotify, ulong.MaxValue, 0), Is.EqualTo((long)HypercallStatus.NotFound));
        Assert.That(_transport.Call(Hypercall.VirtioDeviceInfo, 0, MemorySize - 8), Is.EqualTo((long)HypercallStatus.BadAddress));
        Assert.That(_transport.Call(Hypercall.Null), Is.EqualTo((long)HypercallStatus.UnknownHypercall));
    }

    [Test]
    public void TheOfferedFeaturesIncludeVersion1EventIdxAndIndirect()
    {
        Assert.That(_transport.Call(Hypercall.VirtioGetFeatures, 0, 1), Is.EqualTo(1)); // bit 32
        long low = _transport.Call(Hypercall.VirtioGetFeatures, 0, 0);
        Assert.That(low & (1L << VirtioFeatures.EventIdx), Is.Not.Zero);
        Assert.That(low & (1L << VirtioFeatures.IndirectDesc), Is.Not.Zero);
        Assert.That(_transport.Call(Hypercall.VirtioGetFeatures, 0, 7), Is.Zero);
    }

    [Test]
    public void TheFullSequenceReachesDriverOk()
    {
        _transport.Negotiate(0, All);
        _transport.SetupQueue(0, 0, new DriverRing(_memory, 16, 0x1000, 0x2000, 0x3000));
        _transport.SetupQueue(0, 1, new DriverRing(_memory, 16, 0x4000, 0x5000, 0x6000));
        _transport.DriverOk(0);
        Assert.That(_transport.Call(Hypercall.VirtioGetStatus, 0), Is.EqualTo(TransportDriver.Live));
        Assert.That(_console.IsNegotiated(VirtioFeatures.EventIdx), Is.True);
        Assert.That(_console.GetQueue(0).EventIdx, Is.True);
    }

    [Test]
    public void FeaturesOkIsRefusedForFeaturesTheDeviceDidNotOffer()
    {
        _transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.Ack);
        _transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.AckDriver);
        _transport.Call(Hypercall.VirtioSetFeatures, 0, 1, 1);          // VERSION_1
        _transport.Call(Hypercall.VirtioSetFeatures, 0, 0, 1u << 20);   // not offered
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.FeaturesOk), Is.EqualTo(TransportDriver.AckDriver));
        Assert.That(_transport.Call(Hypercall.VirtioGetStatus, 0), Is.EqualTo(TransportDriver.AckDriver));
    }

    [Test]
    public void FeaturesOkIsRefusedWithoutVersion1()
    {
        _transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.Ack);
        _transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.AckDriver);
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.FeaturesOk), Is.EqualTo(TransportDriver.AckDriver));
    }

    [Test]
    public void StatusBitsMustBeSetInOrder()
    {
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, VirtioDeviceStatus.Driver), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.Ack | VirtioDeviceStatus.FeaturesOk), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, 0x1FF), Is.EqualTo((long)HypercallStatus.InvalidArgument));
        Assert.That(_transport.Call(Hypercall.VirtioGetStatus, 0), Is.Zero);
    }

    [Test]
    public void OnlyAResetClearsStatusBits()
    {
        _transport.Negotiate(0, All);
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.Ack), Is.EqualTo((long)HypercallStatus.InvalidArgument));
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, 0), Is.Zero);
        Assert.That(_transport.Call(Hypercall.VirtioGetStatus, 0), Is.Zero);
        Assert.That(_console.DriverFeatures, Is.Zero);
    }

    [Test]
    public void FeaturesCanOnlyBeWrittenBetweenDriverAndFeaturesOk()
    {
        Assert.That(_transport.Call(Hypercall.VirtioSetFeatures, 0, 1, 1), Is.EqualTo((long)HypercallStatus.NotPermitted));
        _transport.Negotiate(0, All);
        Assert.That(_transport.Call(Hypercall.VirtioSetFeatures, 0, 1, 1), Is.EqualTo((long)HypercallStatus.NotPermitted));
    }

    [Test]
    public void BadFeatureWordsAreRefused()
    {
        _transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.Ack);
        _transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.AckDriver);
        Assert.That(_transport.Call(Hypercall.VirtioSetFeatures, 0, 2, 0), Is.EqualTo((long)HypercallStatus.InvalidArgument));
        Assert.That(_transport.Call(Hypercall.VirtioSetFeatures, 0, 0, 1UL << 32), Is.EqualTo((long)HypercallStatus.InvalidArgument));
    }

    [Test]
    public void DriverOkNeedsEveryQueueSetUp()
    {
        _transport.Negotiate(0, All);
        _transport.SetupQueue(0, 0, new DriverRing(_memory, 16));
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.Live), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_transport.Call(Hypercall.VirtioGetStatus, 0), Is.EqualTo(TransportDriver.FeaturesOk));
    }

    [Test]
    public void QueueSetupIsOnlyAllowedBetweenFeaturesOkAndDriverOk()
    {
        Assert.That(_transport.Call(Hypercall.VirtioSetupQueue, 0, 0, 0x1000, 0x3000, 0x4000, 16), Is.EqualTo((long)HypercallStatus.NotPermitted));
        _transport.Negotiate(0, All);
        _transport.SetupQueue(0, 0, new DriverRing(_memory, 16, 0x1000, 0x2000, 0x3000));
        _transport.SetupQueue(0, 1, new DriverRing(_memory, 16, 0x4000, 0x5000, 0x6000));
        _transport.DriverOk(0);
        Assert.That(_transport.Call(Hypercall.VirtioSetupQueue, 0, 0, 0x1000, 0x3000, 0x4000, 16), Is.EqualTo((long)HypercallStatus.NotPermitted));
    }

    [TestCase(2UL, 0x1000UL, 0x3000UL, 0x4000UL, 16UL, HypercallStatus.InvalidArgument)]   // no queue 2
    [TestCase(0UL, 0x1000UL, 0x3000UL, 0x4000UL, 12UL, HypercallStatus.InvalidArgument)]   // size not a power of two
    [TestCase(0UL, 0x1000UL, 0x3000UL, 0x4000UL, 512UL, HypercallStatus.InvalidArgument)]  // above the device maximum
    [TestCase(0UL, 0x1000UL, 0x3000UL, 0x4000UL, 1UL << 40, HypercallStatus.InvalidArgument)]
    [TestCase(0UL, 0x1004UL, 0x3000UL, 0x4000UL, 16UL, HypercallStatus.InvalidArgument)]   // misaligned
    [TestCase(0UL, 0x1000UL, 0x3000UL, MemorySize, 16UL, HypercallStatus.BadAddress)]       // outside memory
    public void BadQueueSetupsAreRefusedWithoutSideEffects(ulong queue, ulong desc, ulong avail, ulong used, ulong size, HypercallStatus expected)
    {
        _transport.Negotiate(0, All);
        Assert.That(_transport.Call(Hypercall.VirtioSetupQueue, 0, queue, desc, avail, used, size), Is.EqualTo((long)expected));
        Assert.That(_console.GetQueue(0).IsReady, Is.False);
        Assert.That(_console.NeedsReset, Is.False, "a refused call is not a ring violation");
    }

    [Test]
    public void NotifyBeforeDriverOkIsRefused()
    {
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 1), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, 9), Is.EqualTo((long)HypercallStatus.InvalidArgument));
    }

    [Test]
    public void ReadConfigCopiesInsideTheConfigSpaceOnly()
    {
        Assert.That(_transport.Call(Hypercall.VirtioReadConfig, 0, 4, 0x8000, 4), Is.EqualTo(4));
        Assert.That(_memory.TryRead(0x8000, out uint maxPorts), Is.True);
        Assert.That(maxPorts, Is.EqualTo(1));
        Assert.That(_transport.Call(Hypercall.VirtioReadConfig, 0, 0, 0x8000, 12), Is.EqualTo(12));
        Assert.That(_transport.Call(Hypercall.VirtioReadConfig, 0, 8, 0x8000, 5), Is.EqualTo((long)HypercallStatus.InvalidArgument));
        Assert.That(_transport.Call(Hypercall.VirtioReadConfig, 0, ulong.MaxValue, 0x8000, 2), Is.EqualTo((long)HypercallStatus.InvalidArgument));
        Assert.That(_transport.Call(Hypercall.VirtioReadConfig, 0, 0, MemorySize - 2, 4), Is.EqualTo((long)HypercallStatus.BadAddress));
    }

    [Test]
    public void ADeviceOnAnotherMemoryIsRejected()
    {
        using var other = GuestMemory.Create(4096);
        Assert.Throws<ArgumentException>(() => _transport.Add(new VirtioConsole(other, new GuestConsole(null))));
    }

    [Test]
    public void FailedStopsTheDevice()
    {
        _transport.Negotiate(0, All);
        Assert.That(_transport.Call(Hypercall.VirtioSetStatus, 0, TransportDriver.FeaturesOk | VirtioDeviceStatus.Failed),
            Is.EqualTo(TransportDriver.FeaturesOk | VirtioDeviceStatus.Failed));
        Assert.That(_transport.Call(Hypercall.VirtioSetupQueue, 0, 0, 0x1000, 0x3000, 0x4000, 16), Is.EqualTo((long)HypercallStatus.NotPermitted));
    }
}
