using System;
using System.Diagnostics;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Cpu.Timekeeping;

/// <summary>
/// The VM's system time: nanoseconds of the host's monotonic clock since the clock was created.
/// Timer deadlines, the PV clock and (when the CPU layer creates it) the PIT all count in it.
/// </summary>
internal sealed class HostClock : IClock
{
    private readonly long _origin = Stopwatch.GetTimestamp();

    /// <inheritdoc/>
    public long NowNanoseconds => (long)((Int128)(Stopwatch.GetTimestamp() - _origin) * 1_000_000_000 / Stopwatch.Frequency);
}
