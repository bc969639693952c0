using System;
using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Bus;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Devices.Emulated.Pit;

/// <summary>
/// An Intel 8254 programmable interval timer (ports 0x40-0x43 on a PC): three 16-bit down counters
/// clocked at 1.193182 MHz, derived from an injectable <see cref="IClock"/> so that a fake clock
/// makes every count exact. Channel 0's OUT drives IRQ0.
/// </summary>
/// <remarks>
/// <para>Ports (offset): 0-2 counters 0-2 (initial count writes, count or status reads), 3 the
/// control word register (write-only; reads return FFh, the undriven bus). Control words: SC
/// (bits 7-6: counter, or 11 = read-back), RW (bits 5-4: 00 counter latch, 01 LSB, 10 MSB, 11 LSB
/// then MSB), mode (bits 3-1: 0 interrupt on terminal count, 1 hardware one-shot, 2 rate generator,
/// 3 square wave, 4 software strobe, 5 hardware strobe; 6 and 7 alias 2 and 3), BCD (bit 0).
/// Read-back (11xxxxx0): bit 5 clear latches the count, bit 4 clear latches the status, bits 3-1
/// select counters 2-1-0; when both are latched the status byte is read first. A second latch
/// before the first is read is ignored. Initial count 0 means 65536 (10000 in BCD).</para>
/// <para>Time model: the input tick at clock time t ns is floor(t * 1193182 / 10^9); a count
/// written at tick T is loaded at tick T+1. In mode 2 the count runs N..1 and OUT is low while it
/// reads 1, so IRQ0 rises every N ticks; mode 3 rises every N ticks (high for ceil(N/2), low for
/// floor(N/2)); a new count in modes 2 and 3 takes effect at the end of the current period. Mode 0
/// rises once, N ticks after the load; mode 4 pulses OUT low for one tick N ticks after the load.
/// Counts of 1 in modes 2 and 3 (illegal on the part) give a period of one tick. Gates are tied
/// high, so modes 1 and 5 never trigger. Odd counts in mode 3 read back approximately.</para>
/// <para>Interrupt delivery: the host asks <see cref="TakeIrq0Edges"/> (rising edges of OUT0 since
/// it last asked) and schedules its next check with <see cref="TryGetNextDeadline"/>. Edges caused
/// by a control word forcing OUT high are not reported.</para>
/// </remarks>
/// <example>
/// <code>
/// var pit = new Pit8254(clock);
/// vm.PortBus.Register(Pit8254.BasePort, Pit8254.PortCount, pit);
/// // guest: out 43h,34h; out 40h,9Ch; out 40h,2Eh   (mode 2, 11932 ticks: 100 Hz)
/// if (pit.TakeIrq0Edges() &gt; 0) { /* deliver IRQ0 */ }
/// if (pit.TryGetNextDeadline(out long ns)) { /* arm a host timer for ns */ }
/// </code>
/// </example>
public sealed class Pit8254 : IBusDevice
{
    /// <summary>The first port (counter 0).</summary>
    public const ushort BasePort = LegacyPorts.PitChannel0;

    /// <summary>Ports the PIT claims (three counters and the control word register).</summary>
    public const int PortCount = 4;

    /// <summary>The input clock, Hz.</summary>
    public const long InputHz = (long)LegacyPorts.PitInputHz;

    private readonly IClock _clock;
    private readonly PitChannel[] _channels = [new PitChannel(), new PitChannel(), new PitChannel()];
    private long _irq0Taken;
    private long _reads, _writes;

    /// <summary>Creates a PIT whose counters are all unprogrammed, ticking from <paramref name="clock"/>.</summary>
    public Pit8254(IClock clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
    }

    /// <inheritdoc/>
    public string Name => "pit8254";

    /// <summary>Port reads handled (one per byte register accessed).</summary>
    public long Reads => _reads;

    /// <summary>Port writes handled (one per byte register accessed).</summary>
    public long Writes => _writes;

    /// <summary>The input tick at clock time <paramref name="nanoseconds"/>.</summary>
    public static long TickAt(long nanoseconds) => (long)((Int128)nanoseconds * InputHz / 1_000_000_000);

    /// <summary>The earliest clock time, in ns, at which the input tick is at least <paramref name="tick"/>.</summary>
    public static long TimeOfTick(long tick)
    {
        Int128 scaled = (Int128)tick * 1_000_000_000;
        Int128 ns = (scaled + InputHz - 1) / InputHz;
        return ns > long.MaxValue ? long.MaxValue : (long)ns;
    }

    /// <summary>The OUT pin of counter <paramref name="channel"/> (0-2) now.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channel"/> is not 0-2.</exception>
    public bool Output(int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channel, 2);
        return _channels[channel].Output(Now);
    }

    /// <summary>
    /// Rising edges of channel 0's OUT (IRQ0) since the previous call; 0 when IRQ0 has not fired.
    /// More than one means the host fell behind (deliver one, or account for the lost ticks).
    /// </summary>
    public long TakeIrq0Edges()
    {
        long total = _channels[0].TotalEdges(Now);
        long fresh = total - _irq0Taken;
        _irq0Taken = total;
        return fresh;
    }

    /// <summary>The clock time (ns) of channel 0's next rising edge, or false when channel 0 will not raise IRQ0 again as programmed.</summary>
    public bool TryGetNextDeadline(out long nanoseconds)
    {
        if (_channels[0].TryGetNextEdgeTick(Now, out long tick))
        {
            nanoseconds = TimeOfTick(tick);
            return true;
        }
        nanoseconds = 0;
        return false;
    }

    private long Now => TickAt(_clock.NowNanoseconds);

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            _reads++;
            int port = (int)offset + i;
            data[i] = port < 3 ? _channels[port].ReadPort(Now) : (byte)0xFF;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            _writes++;
            int port = (int)offset + i;
            if (port < 3)
                _channels[port].WritePort(data[i], Now);
            else if (port == 3)
                WriteControl(data[i]);
        }
    }

    private void WriteControl(byte value)
    {
        long now = Now;
        int select = value >> 6;
        if (select == 3)
        {
            // Read-back command.
            bool latchCount = (value & 0x20) == 0;
            bool latchStatus = (value & 0x10) == 0;
            for (int channel = 0; channel < 3; channel++)
            {
                if ((value & (2 << channel)) == 0)
                    continue;
                // Status first, so that its OUT and NULL COUNT describe the moment of the command.
                if (latchStatus)
                    _channels[channel].LatchStatus(now);
                if (latchCount)
                    _channels[channel].LatchCount(now);
            }
            return;
        }
        if ((value & 0x30) == 0)
            _channels[select].LatchCount(now);
        else
            _channels[select].Program(value, now);
    }
}
