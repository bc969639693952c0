namespace ParaVirt.Devices.Emulated.Timing;

/// <summary>
/// A monotonic time source in nanoseconds for the timer devices (PIT, RTC). Inject a
/// <see cref="ManualClock"/> in tests and deterministic runs, <see cref="SystemClock"/> otherwise.
/// </summary>
/// <example>
/// <code>
/// var clock = new ManualClock();
/// var pit = new Pit8254(clock);
/// clock.Advance(1_000_000); // 1 ms later, as the PIT sees it
/// </code>
/// </example>
public interface IClock
{
    /// <summary>Nanoseconds since an arbitrary origin; never decreases, never negative.</summary>
    long NowNanoseconds { get; }
}
