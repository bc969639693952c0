namespace ParaVirt.Guest;

/// <summary>
/// The full-flavour clock: the emulated i8254 PIT's channel 2 runs free in mode 2 (65536 ticks of
/// 838 ns, 54.9 ms per wrap); a read latches it (<c>out 43h</c>) and reads two bytes
/// (<c>in 42h</c> twice): three port accesses, each an exit. Wraps are counted in software, so
/// the clock must be read at least every 54 ms to stay exact.
/// </summary>
/// <example><code>
/// ulong now = PitClock.Now();   // ns since the first call
/// </code></example>
public static class PitClock
{
    /// <summary>The PIT's input clock, Hz.</summary>
    public const ulong InputHz = 1_193_182;

    private static bool s_started;
    private static uint s_last;
    private static ulong s_ticks;

    /// <summary>Nanoseconds since the clock was first read.</summary>
    public static ulong Now()
    {
        if (!s_started)
        {
            s_started = true;
            Cpu.OutByte(0x43, 0xB4); // channel 2, lobyte/hibyte, mode 2, binary
            Cpu.OutByte(0x42, 0);
            Cpu.OutByte(0x42, 0);    // 0 = 65536
            s_last = 0x10000;
        }
        Cpu.OutByte(0x43, 0x80);     // latch channel 2
        uint low = Cpu.InByte(0x42);
        uint count = low | ((uint)Cpu.InByte(0x42) << 8);
        if (count == 0)
            count = 0x10000;
        // The counter runs down: elapsed ticks since the last read, modulo one period.
        uint elapsed = (s_last - count) & 0xFFFF;
        s_last = count;
        s_ticks += elapsed;
        return s_ticks / InputHz * 1_000_000_000UL + s_ticks % InputHz * 1_000_000_000UL / InputHz;
    }
}
