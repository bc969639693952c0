using Internal.Runtime;
using ParaVirt.Abi;

namespace ParaVirt.Guest;

/// <summary>
/// Reads the PV clock (<see cref="PvClock"/> in the shared-info page) without an exit: copies the
/// record between two equal, even versions and scales the TSC delta.
/// </summary>
/// <example><code>
/// ulong now = PvClockReader.Now();
/// </code></example>
public static unsafe class PvClockReader
{
    /// <summary>The record in the shared-info page.</summary>
    public static PvClock* Record => (PvClock*)(GuestEnvironment.StartInfo->SharedInfo + SharedInfo.PvClockOffset);

    /// <summary>The system time in nanoseconds; 0 if the host never published a clock.</summary>
    public static ulong Now()
    {
        PvClock* c = Record;
        while (true)
        {
            uint version = c->Version;
            ulong stamp = c->TscTimestamp;
            ulong system = c->SystemTimeNs;
            uint mul = c->TscToSystemMul;
            int shift = c->TscShift;
            byte flags = c->Flags;
            ulong tsc = PrivilegedInstructions.ReadTsc(); // an extern call: the compiler re-reads memory after it
            if ((version & 1) != 0 || version != c->Version)
                continue;
            if ((flags & (byte)PvClockFlags.Valid) == 0)
                return 0;
            ulong delta = tsc - stamp;
            delta = shift >= 0 ? delta << shift : delta >> -shift;
            return system + (delta >> 32) * mul + (((delta & 0xFFFF_FFFF) * mul) >> 32);
        }
    }
}
