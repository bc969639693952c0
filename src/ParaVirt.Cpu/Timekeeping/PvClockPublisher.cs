using System;
using ParaVirt.Abi;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Engine;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Cpu.Timekeeping;

/// <summary>
/// Publishes the PV clock record (<see cref="PvClock"/>) in the shared-info page: a guest TSC
/// reading paired with the system time, and the TSC-to-ns scale. The scale starts from KVM's TSC
/// frequency and is recalibrated against the host clock over the longest baseline seen, so the
/// guest's clock and the host's timer deadlines agree.
/// </summary>
internal sealed class PvClockPublisher
{
    private const uint Ia32Tsc = 0x10;
    private const long RecalibrateAfterNs = 20_000_000;

    private readonly GuestMemory _memory;
    private readonly ulong _address;
    private readonly IVcpuMsrAccess? _msrs;
    private readonly IClock _clock;
    private uint _version;
    private bool _haveFirst;
    private ulong _firstTsc;
    private long _firstNs, _lastPublishNs;
    private double _hz;

    public PvClockPublisher(GuestMemory memory, ulong sharedInfo, IVcpuMsrAccess? msrs, IClock clock)
    {
        _memory = memory;
        _address = sharedInfo + SharedInfo.PvClockOffset;
        _msrs = msrs;
        _clock = clock;
    }

    /// <summary>True when the engine lets the host read the guest's TSC (the PV clock works).</summary>
    public bool Available => _msrs is not null;

    /// <summary>The TSC frequency in use (Hz), 0 before the first publication.</summary>
    public double TscHz => _hz;

    /// <summary>Republishes if the last publication is older than the recalibration period.</summary>
    public void Refresh()
    {
        if (_msrs is not null && _clock.NowNanoseconds - _lastPublishNs >= RecalibrateAfterNs)
            Publish();
    }

    /// <summary>Reads the guest TSC and the host time together and writes the record (version odd, fields, version even).</summary>
    public void Publish()
    {
        if (_msrs is null)
            return;
        long before = _clock.NowNanoseconds;
        if (!_msrs.TryReadMsr(Ia32Tsc, out ulong tsc))
            return;
        long after = _clock.NowNanoseconds;
        long now = before + (after - before) / 2;
        if (!_haveFirst)
        {
            _haveFirst = true;
            _firstTsc = tsc;
            _firstNs = now;
            _hz = _msrs.TscKhz * 1000.0;
            if (_hz <= 0)
                _hz = 1e9;
        }
        else if (now - _firstNs >= RecalibrateAfterNs && tsc > _firstTsc)
        {
            _hz = (tsc - _firstTsc) * 1e9 / (now - _firstNs);
        }
        _lastPublishNs = now;
        Scale(_hz, out uint mul, out sbyte shift);
        var record = new PvClock
        {
            Version = _version + 1, // odd: an update is in progress
            TscTimestamp = tsc,
            SystemTimeNs = (ulong)now,
            TscToSystemMul = mul,
            TscShift = shift,
            Flags = (byte)PvClockFlags.Valid,
        };
        _memory.TryWrite(_address, record);
        _version += 2;
        _memory.TryWrite(_address, _version); // Version is at offset 0: even again
    }

    /// <summary>Finds mul and shift with ns = ((d shifted by shift) × mul) &gt;&gt; 32 for a TSC of <paramref name="hz"/>.</summary>
    internal static void Scale(double hz, out uint mul, out sbyte shift)
    {
        double factor = 1e9 / hz;
        int s = 0;
        while (factor >= 1.0) { factor /= 2; s++; }
        while (factor < 0.5) { factor *= 2; s--; }
        mul = (uint)Math.Min(factor * 4294967296.0, uint.MaxValue);
        shift = (sbyte)s;
    }

    /// <summary>The host-side twin of the guest's computation (for tests).</summary>
    internal static ulong Convert(in PvClock c, ulong tsc)
    {
        ulong delta = tsc - c.TscTimestamp;
        delta = c.TscShift >= 0 ? delta << c.TscShift : delta >> -c.TscShift;
        return c.SystemTimeNs + (delta >> 32) * c.TscToSystemMul + (((delta & 0xFFFF_FFFF) * c.TscToSystemMul) >> 32);
    }
}
