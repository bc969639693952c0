using System.Diagnostics;

namespace ParaVirt.Devices.Emulated.Timing;

/// <summary>The host's monotonic clock (<see cref="Stopwatch"/>), origin at construction.</summary>
/// <example>
/// <code>
/// var rtc = new CmosRtc(new SystemClock(), DateTime.UtcNow);
/// </code>
/// </example>
public sealed class SystemClock : IClock
{
    private readonly long _origin = Stopwatch.GetTimestamp();

    /// <inheritdoc/>
    public long NowNanoseconds
    {
        get
        {
            long ticks = Stopwatch.GetTimestamp() - _origin;
            // Int128 keeps the conversion exact for any uptime; it is a struct, nothing is allocated.
            return (long)((System.Int128)ticks * 1_000_000_000 / Stopwatch.Frequency);
        }
    }
}
