namespace ParaVirt.Abi;

/// <summary>
/// The PV clock record (at <see cref="SharedInfo.PvClockOffset"/> in the shared-info page), after
/// KVM's <c>pvclock_vcpu_time_info</c>: the host publishes a TSC reading and the system time at
/// that reading with the TSC-to-nanoseconds scale; the guest reads the TSC (<c>rdtsc</c> works at
/// CPL3) and computes the time without an exit.
/// </summary>
/// <remarks>
/// <para>Time (ns) = <see cref="SystemTimeNs"/> + scale(tsc - <see cref="TscTimestamp"/>), where
/// scale(d) = ((<see cref="TscShift"/> &gt;= 0 ? d &lt;&lt; shift : d &gt;&gt; -shift) ×
/// <see cref="TscToSystemMul"/>) &gt;&gt; 32.</para>
/// <para>Consistency: the host makes <see cref="Version"/> odd, writes the fields, then makes it
/// even. A reader copies the fields between two reads of an even, equal version, and retries
/// otherwise. Layout fixed by the ABI; offsets pinned by a test. Size: 32 bytes.</para>
/// </remarks>
/// <example><code>
/// PvClock* c = (PvClock*)(startInfo->SharedInfo + SharedInfo.PvClockOffset);
/// ulong ns = PvClockReader.Now(c);   // guest SDK: ParaVirt.Guest.Time
/// </code></example>
public struct PvClock
{
    /// <summary>Offset 0: the version; odd while the host updates the record.</summary>
    public uint Version;

    /// <summary>Offset 4: reserved, 0.</summary>
    public uint Reserved0;

    /// <summary>Offset 8: the guest TSC at the publication.</summary>
    public ulong TscTimestamp;

    /// <summary>Offset 16: the system time (ns since the VM's clock started) at <see cref="TscTimestamp"/>.</summary>
    public ulong SystemTimeNs;

    /// <summary>Offset 24: the TSC-to-ns multiplier, a 32.32 fixed-point fraction.</summary>
    public uint TscToSystemMul;

    /// <summary>Offset 28: the power of two applied to a TSC delta before the multiplication.</summary>
    public sbyte TscShift;

    /// <summary>Offset 29: <see cref="PvClockFlags"/>.</summary>
    public byte Flags;

    /// <summary>Offset 30: reserved, 0.</summary>
    public ushort Reserved1;
}

/// <summary>Bits of <see cref="PvClock.Flags"/>.</summary>
public enum PvClockFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>The record is valid: the host has published at least once.</summary>
    Valid = 1,

    /// <summary>The TSC is invariant: the same scale holds across the VM's life.</summary>
    TscStable = 2,
}
