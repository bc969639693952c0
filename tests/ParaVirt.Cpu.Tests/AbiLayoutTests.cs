using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ParaVirt.Abi;
using ParaVirt.Cpu.Timekeeping;

namespace ParaVirt.Cpu.Tests;

/// <summary>Pins the CPU paravirtualization ABI: SharedInfo, PvClock, SchedOp, EventChannel (docs/abi.md).</summary>
public class AbiLayoutTests
{
    [Test]
    public void SharedInfoLayoutIsStable()
    {
        Assert.That(Unsafe.SizeOf<SharedInfo>(), Is.EqualTo(64));
        Assert.That(Marshal.OffsetOf<SharedInfo>(nameof(SharedInfo.EventMask)).ToInt32(), Is.EqualTo(0));
        Assert.That(Marshal.OffsetOf<SharedInfo>(nameof(SharedInfo.EventPending)).ToInt32(), Is.EqualTo(1));
        Assert.That(Marshal.OffsetOf<SharedInfo>(nameof(SharedInfo.PendingEvents)).ToInt32(), Is.EqualTo(8));
        Assert.That(Marshal.OffsetOf<SharedInfo>(nameof(SharedInfo.CallbacksDelivered)).ToInt32(), Is.EqualTo(16));
        Assert.That(SharedInfo.PvClockOffset, Is.EqualTo(64));
    }

    [Test]
    public void PvClockLayoutIsStable()
    {
        Assert.That(Unsafe.SizeOf<PvClock>(), Is.EqualTo(32));
        Assert.That(Marshal.OffsetOf<PvClock>(nameof(PvClock.Version)).ToInt32(), Is.EqualTo(0));
        Assert.That(Marshal.OffsetOf<PvClock>(nameof(PvClock.TscTimestamp)).ToInt32(), Is.EqualTo(8));
        Assert.That(Marshal.OffsetOf<PvClock>(nameof(PvClock.SystemTimeNs)).ToInt32(), Is.EqualTo(16));
        Assert.That(Marshal.OffsetOf<PvClock>(nameof(PvClock.TscToSystemMul)).ToInt32(), Is.EqualTo(24));
        Assert.That(Marshal.OffsetOf<PvClock>(nameof(PvClock.TscShift)).ToInt32(), Is.EqualTo(28));
        Assert.That(Marshal.OffsetOf<PvClock>(nameof(PvClock.Flags)).ToInt32(), Is.EqualTo(29));
        Assert.That((byte)PvClockFlags.Valid, Is.EqualTo(1));
        Assert.That((byte)PvClockFlags.TscStable, Is.EqualTo(2));
    }

    [Test]
    public void SchedOpsAndChannelsAreStable()
    {
        Assert.That((ulong)SchedOp.Yield, Is.EqualTo(0));
        Assert.That((ulong)SchedOp.Block, Is.EqualTo(1));
        Assert.That((ulong)SchedOp.Shutdown, Is.EqualTo(2));
        Assert.That((uint)EventChannel.Timer, Is.EqualTo(0));
        Assert.That((uint)EventChannel.FirstDevice, Is.EqualTo(1));
        Assert.That((uint)Hypercall.SchedOp, Is.EqualTo(7));
        Assert.That((uint)Hypercall.SetTimer, Is.EqualTo(8));
        Assert.That((uint)Hypercall.SetEventCallback, Is.EqualTo(9));
    }

    [TestCase(2_400_000_000.0)]
    [TestCase(1_000_000_000.0)]
    [TestCase(700_000_000.0)]
    [TestCase(3_999_999_999.0)]
    public void PvClockScaleConvertsTscDeltasToNanoseconds(double hz)
    {
        PvClockPublisher.Scale(hz, out uint mul, out sbyte shift);
        var clock = new PvClock { TscTimestamp = 1000, SystemTimeNs = 5, TscToSystemMul = mul, TscShift = shift };
        ulong oneSecondOfTicks = (ulong)hz;
        ulong ns = PvClockPublisher.Convert(clock, 1000 + oneSecondOfTicks);
        Assert.That((double)ns, Is.EqualTo(1e9 + 5).Within(1e9 * 1e-6), "within 1 ppm");
        ulong hourNs = PvClockPublisher.Convert(clock, 1000 + oneSecondOfTicks * 3600);
        Assert.That((double)hourNs, Is.EqualTo(3600e9 + 5).Within(3600e9 * 1e-6), "no overflow over an hour");
    }
}
