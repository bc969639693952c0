using ParaVirt.Core.Bus;
using ParaVirt.Devices.Emulated.Rtc;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Devices.Emulated.Tests;

public sealed class CmosRtcTests
{
    private const ushort Index = 0x70, Data = 0x71;
    // A Thursday, half way through a second (well clear of the update window).
    private static readonly DateTime Base = new(2026, 11, 26, 17, 45, 30, 500, DateTimeKind.Utc);

    private ManualClock _clock = null!;
    private CmosRtc _rtc = null!;
    private PortIo _io = null!;

    [SetUp]
    public void SetUp()
    {
        _clock = new ManualClock(123_456_789);
        _rtc = new CmosRtc(_clock, Base);
        var bus = new IoBus("pio");
        bus.Register(CmosRtc.BasePort, CmosRtc.PortCount, _rtc);
        _io = new PortIo(bus);
    }

    private byte ReadCmos(byte index)
    {
        _io.Out8(Index, index);
        return _io.In8(Data);
    }

    private void WriteCmos(byte index, byte value)
    {
        _io.Out8(Index, index);
        _io.Out8(Data, value);
    }

    [Test]
    public void TimeReadsInBcdByDefault()
    {
        Assert.That(ReadCmos(0x0B), Is.EqualTo(0x02), "24-hour, BCD");
        Assert.That(ReadCmos(0x00), Is.EqualTo(0x30));
        Assert.That(ReadCmos(0x02), Is.EqualTo(0x45));
        Assert.That(ReadCmos(0x04), Is.EqualTo(0x17));
        Assert.That(ReadCmos(0x06), Is.EqualTo(5), "Thursday (Sunday = 1)");
        Assert.That(ReadCmos(0x07), Is.EqualTo(0x26));
        Assert.That(ReadCmos(0x08), Is.EqualTo(0x11));
        Assert.That(ReadCmos(0x09), Is.EqualTo(0x26));
        Assert.That(ReadCmos(0x32), Is.EqualTo(0x20));
        Assert.That(ReadCmos(0x0D), Is.EqualTo(0x80), "VRT");
    }

    [Test]
    public void TimeReadsInBinaryAndTwelveHourModes()
    {
        WriteCmos(0x0B, 0x06); // binary, 24-hour
        Assert.That(ReadCmos(0x00), Is.EqualTo(30));
        Assert.That(ReadCmos(0x02), Is.EqualTo(45));
        Assert.That(ReadCmos(0x04), Is.EqualTo(17));
        Assert.That(ReadCmos(0x07), Is.EqualTo(26));
        Assert.That(ReadCmos(0x08), Is.EqualTo(11));
        Assert.That(ReadCmos(0x09), Is.EqualTo(26));
        Assert.That(ReadCmos(0x32), Is.EqualTo(20));
        WriteCmos(0x0B, 0x04); // binary, 12-hour
        Assert.That(ReadCmos(0x04), Is.EqualTo(0x80 | 5), "5 PM");
        WriteCmos(0x0B, 0x00); // BCD, 12-hour
        Assert.That(ReadCmos(0x04), Is.EqualTo(0x85));
    }

    [Test]
    public void TimeAdvancesWithTheClock()
    {
        _clock.Advance(TimeSpan.FromSeconds(90));
        Assert.That(ReadCmos(0x00), Is.EqualTo(0x00));
        Assert.That(ReadCmos(0x02), Is.EqualTo(0x47));
        _clock.Advance(TimeSpan.FromDays(36));
        Assert.That(ReadCmos(0x07), Is.EqualTo(0x01));
        Assert.That(ReadCmos(0x08), Is.EqualTo(0x01));
        Assert.That(ReadCmos(0x09), Is.EqualTo(0x27), "year rolled over");
    }

    [Test]
    public void UpdateInProgressBracketsTheSecondBoundary()
    {
        Assert.That(ReadCmos(0x0A), Is.EqualTo(0x26), "UIP clear mid-second");
        _clock.Advance(TimeSpan.FromMilliseconds(499.8)); // 200 µs before the boundary
        Assert.That(ReadCmos(0x0A) & 0x80, Is.EqualTo(0x80));
        Assert.That(ReadCmos(0x00), Is.EqualTo(0x30), "not yet updated");
        _clock.Advance(TimeSpan.FromMilliseconds(1));       // 800 µs after: update cycle running
        Assert.That(ReadCmos(0x0A) & 0x80, Is.EqualTo(0x80));
        Assert.That(ReadCmos(0x00), Is.EqualTo(0x31));
        _clock.Advance(TimeSpan.FromMilliseconds(2));       // 2.8 ms after
        Assert.That(ReadCmos(0x0A) & 0x80, Is.Zero);
    }

    [Test]
    public void NmiBitIsMaskedOffTheIndex()
    {
        _io.Out8(Index, 0x80 | 0x0A);
        Assert.That(_rtc.NmiDisabled, Is.True);
        Assert.That(_rtc.SelectedIndex, Is.EqualTo(0x0A));
        Assert.That(_io.In8(Data), Is.EqualTo(0x26), "register A, not 8Ah");
        _io.Out8(Index, 0x8E);
        _io.Out8(Data, 0x5C);
        _io.Out8(Index, 0x0E);
        Assert.That(_rtc.NmiDisabled, Is.False);
        Assert.That(_io.In8(Data), Is.EqualTo(0x5C), "8Eh and 0Eh are the same byte");
        Assert.That(_io.In8(Index), Is.EqualTo(0xFF), "the index port is write-only");
    }

    [Test]
    public void NvramBytesHoldWhatWasWritten()
    {
        for (int i = 0x0E; i < 0x80; i++)
        {
            if (i != 0x32)
                WriteCmos((byte)i, (byte)(i * 7 + 3));
        }
        for (int i = 0x0E; i < 0x80; i++)
        {
            if (i != 0x32)
                Assert.That(ReadCmos((byte)i), Is.EqualTo((byte)(i * 7 + 3)), $"CMOS byte {i:x2}");
        }
        Assert.That(_rtc.GetNvram(0x40), Is.EqualTo(unchecked((byte)(0x40 * 7 + 3))));
        _rtc.SetNvram(0x15, 0x80);
        Assert.That(ReadCmos(0x15), Is.EqualTo(0x80));
        WriteCmos(0x0D, 0x00);
        Assert.That(ReadCmos(0x0D), Is.EqualTo(0x80), "register D is read-only");
    }

    [Test]
    public void SetBitFreezesAndTheWrittenTimeRuns()
    {
        WriteCmos(0x0B, 0x82); // SET
        WriteCmos(0x00, 0x59);
        WriteCmos(0x02, 0x59);
        WriteCmos(0x04, 0x23);
        WriteCmos(0x07, 0x31);
        WriteCmos(0x08, 0x12);
        WriteCmos(0x09, 0x99);
        WriteCmos(0x32, 0x19);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(ReadCmos(0x00), Is.EqualTo(0x59), "frozen while SET");
        Assert.That(ReadCmos(0x0A) & 0x80, Is.Zero, "no update while SET");
        WriteCmos(0x0B, 0x02);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.That(ReadCmos(0x00), Is.EqualTo(0x01));
        Assert.That(ReadCmos(0x04), Is.EqualTo(0x00));
        Assert.That(ReadCmos(0x09), Is.EqualTo(0x00));
        Assert.That(ReadCmos(0x32), Is.EqualTo(0x20));
        Assert.That(_rtc.CurrentTime, Is.EqualTo(new DateTime(2000, 1, 1, 0, 0, 1, DateTimeKind.Utc)));
    }

    [Test]
    public void RegisterCReportsUpdatesAndClearsOnRead()
    {
        WriteCmos(0x0A, 0x20);  // no periodic rate
        WriteCmos(0x0B, 0x12);  // UIE
        Assert.That(ReadCmos(0x0C), Is.Zero);
        Assert.That(_rtc.InterruptPending, Is.False);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(_rtc.InterruptPending, Is.True);
        Assert.That(ReadCmos(0x0C), Is.EqualTo(0x90), "IRQF|UF");
        Assert.That(ReadCmos(0x0C), Is.Zero, "cleared by the read");
        Assert.That(_rtc.InterruptPending, Is.False);
    }

    [Test]
    public void HostileValuesAreClamped()
    {
        WriteCmos(0x0B, 0x82);
        WriteCmos(0x08, 0x13);  // month 13
        WriteCmos(0x07, 0x99);  // day 99
        WriteCmos(0x0B, 0x02);
        Assert.That(ReadCmos(0x08), Is.EqualTo(0x12));
        Assert.That(ReadCmos(0x07), Is.EqualTo(0x31));
    }
}
