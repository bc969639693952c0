using System;
using System.Threading;

namespace ParaVirt.Devices.Emulated.Timing;

/// <summary>A clock that moves only when told to: deterministic tests and replayable runs.</summary>
/// <example>
/// <code>
/// var clock = new ManualClock(startNanoseconds: 0);
/// clock.Advance(TimeSpan.FromMilliseconds(10));
/// long now = clock.NowNanoseconds; // 10_000_000
/// </code>
/// </example>
public sealed class ManualClock : IClock
{
    private long _now;

    /// <summary>Creates a clock reading <paramref name="startNanoseconds"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The start is negative.</exception>
    public ManualClock(long startNanoseconds = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startNanoseconds);
        _now = startNanoseconds;
    }

    /// <inheritdoc/>
    public long NowNanoseconds => Volatile.Read(ref _now);

    /// <summary>Moves the clock forward by <paramref name="nanoseconds"/> (not negative).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The step is negative.</exception>
    public void Advance(long nanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nanoseconds);
        Interlocked.Add(ref _now, nanoseconds);
    }

    /// <summary>Moves the clock forward by <paramref name="step"/>.</summary>
    public void Advance(TimeSpan step) => Advance(checked(step.Ticks * 100));
}
