using ParaVirt.Core.Bus;

namespace ParaVirt.Core.Tests;

public class IoBusTests
{
    private sealed class Echo(string name) : IBusDevice
    {
        public ulong LastOffset = ulong.MaxValue;
        public string Name => name;
        public void Read(ulong offset, Span<byte> data) { LastOffset = offset; data.Fill((byte)offset); }
        public void Write(ulong offset, ReadOnlySpan<byte> data) => LastOffset = offset;
    }

    [Test]
    public void OverlappingClaimsAreRefused()
    {
        var bus = new IoBus("pio");
        bus.Register(0x3F8, 8, new Echo("com1"));
        Assert.That(() => bus.Register(0x3FC, 4, new Echo("late")), Throws.ArgumentException.With.Message.Contains("overlaps com1"));
        Assert.That(() => bus.Register(0x3F0, 9, new Echo("late")), Throws.ArgumentException);
        Assert.That(() => bus.Register(0x10, 0, new Echo("empty")), Throws.ArgumentException);
        Assert.That(() => bus.Register(ulong.MaxValue, 2, new Echo("wraps")), Throws.ArgumentException);
        bus.Register(0x3F0, 8, new Echo("adjacent"));
        Assert.That(bus.Ranges.Select(r => r.Device.Name), Is.EqualTo(new[] { "adjacent", "com1" }));
    }

    [Test]
    public void AccessesReachTheClaimingDeviceWithTheOffset()
    {
        var bus = new IoBus("pio");
        var a = new Echo("a");
        var b = new Echo("b");
        bus.Register(0x100, 0x10, a);
        bus.Register(0x200, 0x10, b);
        Span<byte> data = stackalloc byte[2];
        Assert.That(bus.Read(0x205, data), Is.True);
        Assert.That(b.LastOffset, Is.EqualTo(5));
        Assert.That(data[0], Is.EqualTo(5));
        Assert.That(bus.Write(0x10F, data[..1]), Is.True);
        Assert.That(a.LastOffset, Is.EqualTo(0xF));
    }

    [Test]
    public void UnclaimedAndStraddlingAccessesReadAllOnesAndDropWrites()
    {
        var bus = new IoBus("mmio");
        var device = new Echo("d");
        bus.Register(0x1000, 0x10, device);
        Span<byte> data = stackalloc byte[4];
        Assert.That(bus.Read(0x2000, data), Is.False);
        Assert.That(data.ToArray(), Is.All.EqualTo(0xFF));
        Assert.That(bus.Read(0x100E, data), Is.False, "an access that runs past the claim goes nowhere");
        Assert.That(bus.Write(0xFFF, data), Is.False);
        Assert.That(device.LastOffset, Is.EqualTo(ulong.MaxValue), "the device never saw them");
        Assert.That(bus.UnclaimedReads, Is.EqualTo(2));
        Assert.That(bus.UnclaimedWrites, Is.EqualTo(1));
    }
}
