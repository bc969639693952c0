using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Virtio.Tests;

/// <summary>A guest driver that talks to a device only through the transport's hypercalls.</summary>
internal static class TransportDriver
{
    public const byte Ack = VirtioDeviceStatus.Acknowledge;
    public const byte AckDriver = Ack | VirtioDeviceStatus.Driver;
    public const byte FeaturesOk = AckDriver | VirtioDeviceStatus.FeaturesOk;
    public const byte Live = FeaturesOk | VirtioDeviceStatus.DriverOk;

    public static long Call(this VirtioTransport t, Hypercall call, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0) =>
        t.Dispatch(call, new HypercallArgs(a0, a1, a2, a3, a4, a5));

    /// <summary>ACKNOWLEDGE, DRIVER, accept <paramref name="accept"/> of the offered features, FEATURES_OK.</summary>
    public static void Negotiate(this VirtioTransport t, int dev, ulong accept)
    {
        Assert.That(t.Call(Hypercall.VirtioSetStatus, (ulong)dev, Ack), Is.EqualTo(Ack));
        Assert.That(t.Call(Hypercall.VirtioSetStatus, (ulong)dev, AckDriver), Is.EqualTo(AckDriver));
        ulong offered = (ulong)t.Call(Hypercall.VirtioGetFeatures, (ulong)dev, 0) | (ulong)t.Call(Hypercall.VirtioGetFeatures, (ulong)dev, 1) << 32;
        ulong features = offered & accept;
        Assert.That(t.Call(Hypercall.VirtioSetFeatures, (ulong)dev, 0, features & 0xFFFF_FFFF), Is.Zero);
        Assert.That(t.Call(Hypercall.VirtioSetFeatures, (ulong)dev, 1, features >> 32), Is.Zero);
        Assert.That(t.Call(Hypercall.VirtioSetStatus, (ulong)dev, FeaturesOk), Is.EqualTo(FeaturesOk));
    }

    public static void SetupQueue(this VirtioTransport t, int dev, uint queue, DriverRing ring) =>
        Assert.That(t.Call(Hypercall.VirtioSetupQueue, (ulong)dev, queue, ring.Desc, ring.Avail, ring.Used, ring.Size), Is.Zero);

    public static void DriverOk(this VirtioTransport t, int dev) =>
        Assert.That(t.Call(Hypercall.VirtioSetStatus, (ulong)dev, Live), Is.EqualTo(Live));
}
