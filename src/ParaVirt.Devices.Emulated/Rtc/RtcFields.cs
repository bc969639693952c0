using System;

namespace ParaVirt.Devices.Emulated.Rtc;

/// <summary>The RTC's calendar fields in binary, 24-hour form: what the time registers encode.</summary>
internal struct RtcFields
{
    public int Second, Minute, Hour, Day, Month, Year, Century;

    public static RtcFields From(DateTime time) => new()
    {
        Second = time.Second,
        Minute = time.Minute,
        Hour = time.Hour,
        Day = time.Day,
        Month = time.Month,
        Year = time.Year % 100,
        Century = time.Year / 100,
    };

    /// <summary>The time these fields name, each clamped into its range (a guest may write anything).</summary>
    public readonly DateTime ToDateTime()
    {
        int year = Math.Clamp(Century, 0, 99) * 100 + Math.Clamp(Year, 0, 99);
        year = Math.Clamp(year, 1, 9999);
        int month = Math.Clamp(Month, 1, 12);
        int day = Math.Clamp(Day, 1, DateTime.DaysInMonth(year, month));
        return new DateTime(year, month, day, Math.Clamp(Hour, 0, 23), Math.Clamp(Minute, 0, 59), Math.Clamp(Second, 0, 59), DateTimeKind.Utc);
    }
}
