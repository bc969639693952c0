using ParaVirt.Abi.Legacy;

namespace ParaVirt.Guest;

/// <summary>
/// The full-flavour clock: the emulated i8254 PIT's channel 2 runs free in mode 2 (65536 ticks of
/// 838 ns, 54.9 ms per wrap); a read latches it (<c>out 43h</c>) and reads two bytes
/// (<c>in 42h</c> twice): three port accesses, each an exit. The PIT gives the time within a wrap;
/// the TSC, calibrated against the PIT once at the first read (about 10 ms), counts the wraps
/// between two reads, so reads may be any distance apart.
/// </summary>
/// <example><code>
/// ulong now = PitClock.Now();   // ns since the first call
/// </code></example>
public static class PitClock
{
    /// <summary>The PIT's input clock, Hz.</summary>
    public const ulong InputHz = LegacyPorts.PitInputHz;

    private const uint Period = 0x10000;
    private static bool s_started;
    private static uint s_last;
    private static ulong s_lastTsc;
    private static ulong s_ticks;
    private static ulong s_tscHz;

    /// <summary>The TSC frequency measured against the PIT (Hz), 0 before the first read.</summary>
    public static ulong TscHz => s_tscHz;

    /// <summary>Nanoseconds since the clock was first read.</summary>
    public static ulong Now()
    {
        if (!s_started)
            Start();
        uint count = Latch(out ulong tsc);
        uint withinWrap = (s_last - count) & (Period - 1);
        // Whole wraps the PIT alone cannot see, from the TSC: round the TSC's estimate of the elapsed
        // ticks to the nearest value congruent to withinWrap modulo the period.
        ulong estimate = (tsc - s_lastTsc) * InputHz / s_tscHz;
        ulong wraps = estimate > withinWrap ? (estimate - withinWrap + Period / 2) / Period : 0;
        s_ticks += withinWrap + wraps * Period;
        s_last = count;
        s_lastTsc = tsc;
        return s_ticks / InputHz * 1_000_000_000UL + s_ticks % InputHz * 1_000_000_000UL / InputHz;
    }

    private static void Start()
    {
        s_started = true;
        Cpu.OutByte(LegacyPorts.PitControl, 0xB4); // channel 2, lobyte/hibyte, mode 2, binary
        Cpu.OutByte(LegacyPorts.PitChannel2, 0);
        Cpu.OutByte(LegacyPorts.PitChannel2, 0);    // 0 = 65536
        // Calibrate the TSC against about 10 ms of PIT ticks (read well within one wrap).
        uint first = Latch(out ulong tsc0);
        uint last = first;
        ulong ticks = 0, tsc = tsc0;
        while (ticks < 11_932)
        {
            uint count = Latch(out tsc);
            ticks += (last - count) & (Period - 1);
            last = count;
        }
        s_tscHz = (tsc - tsc0) * InputHz / ticks;
        if (s_tscHz == 0)
            s_tscHz = 1;
        s_last = last;
        s_lastTsc = tsc;
    }

    private static uint Latch(out ulong tsc)
    {
        Cpu.OutByte(LegacyPorts.PitControl, 0x80); // latch channel 2
        tsc = Cpu.ReadTsc();
        uint low = Cpu.InByte(LegacyPorts.PitChannel2);
        uint count = low | ((uint)Cpu.InByte(LegacyPorts.PitChannel2) << 8);
        return count == 0 ? Period : count;
    }
}
