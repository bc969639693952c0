using ParaVirt.Core.Bus;
using ParaVirt.Devices.Emulated.Pit;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Devices.Emulated.Tests;

public sealed class Pit8254Tests
{
    private const ushort Counter0 = 0x40, Counter2 = 0x42, ControlWord = 0x43;

    private ManualClock _clock = null!;
    private Pit8254 _pit = null!;
    private PortIo _io = null!;

    [SetUp]
    public void SetUp()
    {
        _clock = new ManualClock();
        _pit = new Pit8254(_clock);
        var bus = new IoBus("pio");
        bus.Register(Pit8254.BasePort, Pit8254.PortCount, _pit);
        _io = new PortIo(bus);
    }

    private void AdvanceToTick(long tick) => _clock.Advance(Pit8254.TimeOfTick(tick) - _clock.NowNanoseconds);

    private void Program(byte controlWord, ushort count, ushort port = Counter0)
    {
        _io.Out8(ControlWord, controlWord);
        _io.Out8(port, (byte)count);
        _io.Out8(port, (byte)(count >> 8));
    }

    private ushort LatchAndRead(ushort port = Counter0)
    {
        _io.Out8(ControlWord, (byte)((port - Counter0) << 6)); // counter latch command
        byte low = _io.In8(port);
        byte high = _io.In8(port);
        return (ushort)(low | high << 8);
    }

    [Test]
    public void TickConversionIsExact()
    {
        Assert.That(Pit8254.TickAt(1_000_000_000), Is.EqualTo(1_193_182));
        Assert.That(Pit8254.TickAt(1_000_000), Is.EqualTo(1193));
        Assert.That(Pit8254.TimeOfTick(101), Is.EqualTo(84648));
        Assert.That(Pit8254.TickAt(84647), Is.EqualTo(100));
        Assert.That(Pit8254.TickAt(long.MaxValue / 2), Is.GreaterThan(0), "no overflow after days of uptime");
    }

    [Test]
    public void Mode2LatchedCountIsExact()
    {
        Program(0x34, 1000); // counter 0, LSB then MSB, mode 2, binary; written at tick 0, loaded at tick 1
        Assert.That(LatchAndRead(), Is.EqualTo(1000));
        _clock.Advance(1_000_000); // tick 1193: 1192 ticks after the load
        Assert.That(LatchAndRead(), Is.EqualTo(1000 - 1192 % 1000)); // 808
        Assert.That(LatchAndRead(), Is.EqualTo(808), "the clock did not move");
    }

    [Test]
    public void LatchHoldsWhileTheCounterRuns()
    {
        Program(0x34, 1000);
        AdvanceToTick(101);
        _io.Out8(ControlWord, 0x00);
        AdvanceToTick(501);
        _io.Out8(ControlWord, 0x00); // a second latch before the first is read is ignored
        Assert.That(_io.In8(Counter0) | _io.In8(Counter0) << 8, Is.EqualTo(900));
        Assert.That(LatchAndRead(), Is.EqualTo(500));
    }

    [Test]
    public void ReadBackLatchesStatusThenCount()
    {
        _io.Out8(ControlWord, 0x34);
        _io.Out8(ControlWord, 0xE2); // read-back status of counter 0 before any count
        Assert.That(_io.In8(Counter0), Is.EqualTo(0x80 | 0x40 | 0x34), "OUT high, NULL COUNT, RW=11, mode 2");
        _io.Out8(Counter0, 0xE8);
        _io.Out8(Counter0, 0x03);    // 1000
        _clock.Advance(1_000_000);
        _io.Out8(ControlWord, 0xC2); // read-back count and status of counter 0
        Assert.That(_io.In8(Counter0), Is.EqualTo(0x80 | 0x34), "status first: count loaded, OUT high");
        Assert.That(_io.In8(Counter0), Is.EqualTo(808 & 0xFF));
        Assert.That(_io.In8(Counter0), Is.EqualTo(808 >> 8));
        AdvanceToTick(1 + 1999); // count reads 1 (second period): OUT low in mode 2
        _io.Out8(ControlWord, 0xE2);
        Assert.That(_io.In8(Counter0), Is.EqualTo(0x34), "OUT low");
    }

    [Test]
    public void Mode0TerminalCountRaisesIrq0Once()
    {
        Program(0x30, 100); // mode 0
        Assert.That(_pit.Output(0), Is.False, "mode 0: OUT low while counting");
        Assert.That(_pit.TryGetNextDeadline(out long deadline), Is.True);
        Assert.That(deadline, Is.EqualTo(Pit8254.TimeOfTick(101)), "N+1 ticks after the write");
        _clock.Advance(deadline - 1);
        Assert.That(_pit.TakeIrq0Edges(), Is.Zero);
        Assert.That(_pit.Output(0), Is.False);
        _clock.Advance(1);
        Assert.That(_pit.Output(0), Is.True);
        Assert.That(_pit.TakeIrq0Edges(), Is.EqualTo(1));
        Assert.That(_pit.TakeIrq0Edges(), Is.Zero, "taken");
        AdvanceToTick(101 + 5);
        Assert.That(LatchAndRead(), Is.EqualTo(65531), "the counter wraps and keeps counting");
        _clock.Advance(1_000_000_000);
        Assert.That(_pit.TakeIrq0Edges(), Is.Zero, "one shot");
        Assert.That(_pit.Output(0), Is.True);
        Assert.That(_pit.TryGetNextDeadline(out _), Is.False);
    }

    [Test]
    public void Mode0RewriteRestartsTheCount()
    {
        Program(0x30, 100);
        AdvanceToTick(50);
        _io.Out8(Counter0, 10); // first byte: counting stops
        AdvanceToTick(500);
        Assert.That(_pit.TakeIrq0Edges(), Is.Zero, "stopped before terminal count");
        _io.Out8(Counter0, 0);  // second byte: new count 10 loaded at tick 501
        AdvanceToTick(510);
        Assert.That(_pit.TakeIrq0Edges(), Is.Zero);
        AdvanceToTick(511);
        Assert.That(_pit.TakeIrq0Edges(), Is.EqualTo(1));
    }

    [Test]
    public void Mode2RaisesIrq0EveryPeriod()
    {
        Program(0x34, 11932); // 100 Hz
        _clock.Advance(1_000_000_000); // tick 1193182, 1193181 after the load
        Assert.That(_pit.TakeIrq0Edges(), Is.EqualTo(1193181 / 11932)); // 99
        Assert.That(_pit.TryGetNextDeadline(out long deadline), Is.True);
        Assert.That(deadline, Is.EqualTo(1_000_015_924), "tick 1 + 100 x 11932");
        _clock.Advance(deadline - _clock.NowNanoseconds);
        Assert.That(_pit.TakeIrq0Edges(), Is.EqualTo(1));
    }

    [Test]
    public void Mode2NewCountTakesEffectAtTheEndOfThePeriod()
    {
        Program(0x34, 1000);
        AdvanceToTick(500);
        _io.Out8(Counter0, 200);
        _io.Out8(Counter0, 0);
        _io.Out8(ControlWord, 0xE2);
        Assert.That(_io.In8(Counter0) & 0x40, Is.EqualTo(0x40), "NULL COUNT until the reload");
        AdvanceToTick(1000);
        Assert.That(LatchAndRead(), Is.EqualTo(1), "old period still running");
        AdvanceToTick(1001);
        Assert.That(LatchAndRead(), Is.EqualTo(200), "new count from the boundary");
        Assert.That(_pit.TakeIrq0Edges(), Is.EqualTo(1));
        AdvanceToTick(1201);
        Assert.That(_pit.TakeIrq0Edges(), Is.EqualTo(1));
        _io.Out8(ControlWord, 0xE2);
        Assert.That(_io.In8(Counter0) & 0x40, Is.Zero);
    }

    [Test]
    public void Mode3IsASquareWave()
    {
        Program(0x36, 10); // mode 3, loaded at tick 1
        AdvanceToTick(1);
        Assert.That(_pit.Output(0), Is.True);
        Assert.That(LatchAndRead(), Is.EqualTo(10));
        AdvanceToTick(3);
        Assert.That(LatchAndRead(), Is.EqualTo(6), "decrements by two");
        AdvanceToTick(6);
        Assert.That(_pit.Output(0), Is.False, "second half period");
        AdvanceToTick(11);
        Assert.That(_pit.Output(0), Is.True);
        AdvanceToTick(101);
        Assert.That(_pit.TakeIrq0Edges(), Is.EqualTo(10));
    }

    [Test]
    public void ReloadZeroMeans65536()
    {
        Program(0x34, 0);
        AdvanceToTick(2);
        Assert.That(LatchAndRead(), Is.EqualTo(65535));
        Assert.That(_pit.TryGetNextDeadline(out long deadline), Is.True);
        Assert.That(deadline, Is.EqualTo(Pit8254.TimeOfTick(1 + 65536)));
    }

    [Test]
    public void LowByteOnlyAndBcdModes()
    {
        _io.Out8(ControlWord, 0x94); // counter 2, LSB only, mode 2
        _io.Out8(Counter2, 50);
        AdvanceToTick(11);
        Assert.That(_io.In8(Counter2), Is.EqualTo(40), "live LSB read");
        Assert.That(_pit.TakeIrq0Edges(), Is.Zero, "counter 2 is not IRQ0");

        Program(0x31, 0x1000); // counter 0, mode 0, BCD 1000
        AdvanceToTick(11 + 1 + 1);
        Assert.That(LatchAndRead(), Is.EqualTo(0x0999));
    }

    [Test]
    public void ControlPortReadsFloatingBus()
    {
        Assert.That(_io.In8(ControlWord), Is.EqualTo(0xFF));
        Assert.That(_pit.TryGetNextDeadline(out _), Is.False, "unprogrammed");
        Assert.That(_pit.TakeIrq0Edges(), Is.Zero);
    }
}
