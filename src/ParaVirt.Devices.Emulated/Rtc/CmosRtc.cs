using System;
using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Bus;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Devices.Emulated.Rtc;

/// <summary>
/// A Motorola MC146818 real-time clock with its 128 bytes of CMOS RAM, as on a PC: port 0x70
/// selects a register (bits 6-0) and sets the NMI mask (bit 7, 1 = NMI disabled), port 0x71 reads
/// or writes it. The time is a base wall time plus the elapsed time of an injectable <see cref="IClock"/>.
/// </summary>
/// <remarks>
/// <para>Registers: 00h seconds, 01h seconds alarm, 02h minutes, 03h minutes alarm, 04h hours (bit 7
/// = PM in 12-hour mode), 05h hours alarm, 06h day of week (1 = Sunday), 07h day of month,
/// 08h month, 09h year (00-99), 32h century (IBM convention). Time registers are BCD unless
/// register B's DM bit (2) is set, and 12-hour unless B's 24/12 bit (1) is set; the format applies
/// to reads and writes at once, since the registers are computed from the clock on each read.</para>
/// <para>Register A: bit 7 UIP (read-only) reads 1 from 244 µs before each second boundary until
/// the 1984 µs update cycle ends; bits 6-0 (divider, rate select) are stored; reset value 26h; the
/// divider bits do not stop the clock. Register B: SET (bit 7) freezes the time registers so that
/// the guest can write them (setting SET clears UIE); clearing SET restarts the clock from the
/// written values. Reset value 02h (24-hour, BCD). Register C: IRQF, PF, AF, UF, cleared by the
/// read; UF means at least one update since the last read, PF at least one periodic tick (rate from
/// register A), AF the current time matches the alarm (C0h-FFh = don't care) after an update.
/// Register D: VRT (bit 7) always 1. Other indexes are plain CMOS RAM.</para>
/// <para>Defined outcomes: a time register write outside SET changes that field and the clock runs
/// on from there; values outside a field's range are clamped (invalid BCD nibbles count at face
/// value); writes to the day of week are ignored (it is derived from the date); writes to C and D
/// are ignored; reading port 0x70 returns FFh (write-only, as on the AT).</para>
/// </remarks>
/// <example>
/// <code>
/// var rtc = new CmosRtc(clock, new DateTime(2026, 11, 26, 17, 30, 0, DateTimeKind.Utc));
/// vm.PortBus.Register(CmosRtc.BasePort, CmosRtc.PortCount, rtc);
/// // guest: out 70h,0; in al,71h  → 00h (seconds, BCD)
/// </code>
/// </example>
public sealed class CmosRtc : IBusDevice
{
    /// <summary>The index port.</summary>
    public const ushort BasePort = LegacyPorts.RtcIndex;

    /// <summary>Ports the RTC claims (index and data).</summary>
    public const int PortCount = 2;

    private const byte RegA = 0x0A, RegB = 0x0B, RegC = 0x0C, RegD = 0x0D, RegCentury = 0x32;
    private const byte BSet = 0x80, BPie = 0x40, BAie = 0x20, BUie = 0x10, BBinary = 0x04, B24Hour = 0x02;
    private const long TicksPerSecond = TimeSpan.TicksPerSecond;
    private const long UipBeforeTicks = 2440, UpdateCycleTicks = 19840; // 244 µs and 1984 µs

    private readonly IClock _clock;
    private readonly byte[] _ram = new byte[128];
    private byte _index;
    private long _baseWallTicks, _baseNs;
    private RtcFields _frozen;
    private long _flagsSinceNs, _flagsSinceSecond;
    private long _reads, _writes;

    /// <summary>Creates an RTC reading <paramref name="wallTime"/> now (as measured by <paramref name="clock"/>) and running from there.</summary>
    public CmosRtc(IClock clock, DateTime wallTime)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _baseNs = clock.NowNanoseconds;
        _baseWallTicks = wallTime.Ticks;
        _ram[RegA] = 0x26;
        _ram[RegB] = B24Hour;
        _ram[RegD] = 0x80;
        _flagsSinceNs = _baseNs;
        _flagsSinceSecond = _baseWallTicks / TicksPerSecond;
    }

    /// <inheritdoc/>
    public string Name => "cmos-rtc";

    /// <summary>Whether the guest has masked NMI (bit 7 of the last index written).</summary>
    public bool NmiDisabled { get; private set; }

    /// <summary>The selected register (0-127).</summary>
    public int SelectedIndex => _index;

    /// <summary>Port reads handled (one per byte).</summary>
    public long Reads => _reads;

    /// <summary>Port writes handled (one per byte).</summary>
    public long Writes => _writes;

    /// <summary>The time the RTC keeps now (the frozen registers while SET is on).</summary>
    public DateTime CurrentTime => Frozen ? _frozen.ToDateTime() : Wall(_clock.NowNanoseconds);

    /// <summary>The IRQ8 line: register C's IRQF (a flag whose interrupt is enabled in register B), until register C is read.</summary>
    public bool InterruptPending => (ComputeFlags(_clock.NowNanoseconds) & 0x80) != 0;

    /// <summary>Reads CMOS RAM byte <paramref name="index"/> (0-127) as stored, for the host (time registers read their stored bytes, not the clock).</summary>
    public byte GetNvram(int index) => _ram[index & 0x7F];

    /// <summary>Sets CMOS RAM byte <paramref name="index"/> (0-127) for the host, e.g. memory size bytes; bypasses register semantics.</summary>
    public void SetNvram(int index, byte value) => _ram[index & 0x7F] = value;

    private bool Frozen => (_ram[RegB] & BSet) != 0;

    private bool Binary => (_ram[RegB] & BBinary) != 0;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            _reads++;
            data[i] = (int)offset + i == 0 ? (byte)0xFF : ReadRegister(_index);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            _writes++;
            if ((int)offset + i == 0)
            {
                _index = (byte)(data[i] & 0x7F);
                NmiDisabled = (data[i] & 0x80) != 0;
            }
            else
                WriteRegister(_index, data[i]);
        }
    }

    private DateTime Wall(long nowNs)
    {
        long ticks = _baseWallTicks + (nowNs - _baseNs) / 100;
        return new DateTime(Math.Clamp(ticks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), DateTimeKind.Utc);
    }

    private RtcFields CurrentFields(long nowNs) => Frozen ? _frozen : RtcFields.From(Wall(nowNs));

    private byte ReadRegister(byte index)
    {
        long now = _clock.NowNanoseconds;
        switch (index)
        {
            case 0x00: return EncodeNumber(CurrentFields(now).Second);
            case 0x02: return EncodeNumber(CurrentFields(now).Minute);
            case 0x04: return EncodeHour(CurrentFields(now).Hour);
            case 0x06: return EncodeNumber((int)CurrentFields(now).ToDateTime().DayOfWeek + 1);
            case 0x07: return EncodeNumber(CurrentFields(now).Day);
            case 0x08: return EncodeNumber(CurrentFields(now).Month);
            case 0x09: return EncodeNumber(CurrentFields(now).Year);
            case RegCentury: return EncodeNumber(CurrentFields(now).Century);
            case RegA: return (byte)((_ram[RegA] & 0x7F) | (UpdateInProgress(now) ? 0x80 : 0));
            case RegC:
            {
                byte flags = ComputeFlags(now);
                _flagsSinceNs = now;
                _flagsSinceSecond = Wall(now).Ticks / TicksPerSecond;
                return flags;
            }
            case RegD: return 0x80;
            default: return _ram[index];
        }
    }

    private void WriteRegister(byte index, byte value)
    {
        long now = _clock.NowNanoseconds;
        switch (index)
        {
            case 0x00:
            case 0x02:
            case 0x04:
            case 0x07:
            case 0x08:
            case 0x09:
            case RegCentury:
                SetField(now, index, value);
                return;
            case 0x06: return; // derived from the date
            case RegA: _ram[RegA] = (byte)(value & 0x7F); return;
            case RegB: WriteRegisterB(now, value); return;
            case RegC:
            case RegD:
                return; // read-only
            default:
                _ram[index] = value;
                return;
        }
    }

    private void WriteRegisterB(long now, byte value)
    {
        bool wasFrozen = Frozen;
        bool freeze = (value & BSet) != 0;
        if (freeze)
            value = (byte)(value & ~BUie); // SET clears UIE
        if (freeze && !wasFrozen)
            _frozen = RtcFields.From(Wall(now));
        _ram[RegB] = value;
        if (!freeze && wasFrozen)
            Restart(now, _frozen, 0);
    }

    /// <summary>Writes one time field: into the frozen registers under SET, else into the running time.</summary>
    private void SetField(long now, byte index, byte value)
    {
        int decoded = index == 0x04 ? DecodeHour(value) : DecodeNumber(value);
        if (Frozen)
        {
            Assign(ref _frozen, index, decoded);
            return;
        }
        DateTime wall = Wall(now);
        RtcFields fields = RtcFields.From(wall);
        Assign(ref fields, index, decoded);
        Restart(now, fields, wall.Ticks % TicksPerSecond);
    }

    private static void Assign(ref RtcFields fields, byte index, int value)
    {
        switch (index)
        {
            case 0x00: fields.Second = value; break;
            case 0x02: fields.Minute = value; break;
            case 0x04: fields.Hour = value; break;
            case 0x07: fields.Day = value; break;
            case 0x08: fields.Month = value; break;
            case 0x09: fields.Year = value; break;
            default: fields.Century = value; break;
        }
    }

    /// <summary>Runs the clock from <paramref name="fields"/> (plus a sub-second <paramref name="fraction"/> in 100 ns ticks) at <paramref name="now"/>.</summary>
    private void Restart(long now, in RtcFields fields, long fraction)
    {
        _baseWallTicks = fields.ToDateTime().Ticks + fraction;
        _baseNs = now;
        _flagsSinceSecond = _baseWallTicks / TicksPerSecond;
    }

    private bool UpdateInProgress(long now)
    {
        if (Frozen)
            return false;
        long fraction = Wall(now).Ticks % TicksPerSecond;
        return fraction >= TicksPerSecond - UipBeforeTicks || fraction < UpdateCycleTicks;
    }

    private byte ComputeFlags(long now)
    {
        int flags = 0;
        if (!Frozen && Wall(now).Ticks / TicksPerSecond != _flagsSinceSecond)
        {
            flags |= 0x10; // UF
            if (AlarmMatches(CurrentFields(now)))
                flags |= 0x20; // AF
        }
        int rate = _ram[RegA] & 0x0F;
        if (rate != 0)
        {
            long hz = rate switch { 1 => 256, 2 => 128, _ => 32768 >> (rate - 1) };
            if (PeriodsAt(now, hz) != PeriodsAt(_flagsSinceNs, hz))
                flags |= 0x40; // PF
        }
        byte b = _ram[RegB];
        if ((flags & 0x40) != 0 && (b & BPie) != 0 || (flags & 0x20) != 0 && (b & BAie) != 0 || (flags & 0x10) != 0 && (b & BUie) != 0)
            flags |= 0x80; // IRQF
        return (byte)flags;
    }

    private static long PeriodsAt(long ns, long hz) => (long)((Int128)ns * hz / 1_000_000_000);

    private bool AlarmMatches(in RtcFields now) =>
        AlarmFieldMatches(_ram[0x01], EncodeNumber(now.Second))
        && AlarmFieldMatches(_ram[0x03], EncodeNumber(now.Minute))
        && AlarmFieldMatches(_ram[0x05], EncodeHour(now.Hour));

    private static bool AlarmFieldMatches(byte alarm, byte value) => (alarm & 0xC0) == 0xC0 || alarm == value;

    private byte EncodeNumber(int value)
    {
        value &= 0xFF;
        return Binary ? (byte)value : (byte)(((value / 10 % 16) << 4) | (value % 10));
    }

    private int DecodeNumber(byte value) => Binary ? value : (value >> 4) * 10 + (value & 0x0F);

    private byte EncodeHour(int hour)
    {
        if ((_ram[RegB] & B24Hour) != 0)
            return EncodeNumber(hour);
        bool pm = hour >= 12;
        int twelve = hour % 12;
        if (twelve == 0)
            twelve = 12;
        return (byte)(EncodeNumber(twelve) | (pm ? 0x80 : 0));
    }

    private int DecodeHour(byte value)
    {
        if ((_ram[RegB] & B24Hour) != 0)
            return DecodeNumber(value);
        int hour = DecodeNumber((byte)(value & 0x7F));
        if (hour == 12)
            hour = 0;
        return (value & 0x80) != 0 ? hour + 12 : hour;
    }
}
