using System;

namespace ParaVirt.Devices.Emulated.Pit;

/// <summary>
/// One counter of an Intel 8254: programming (access mode, operating mode, BCD), the count and
/// status latches, and the count and OUT level as functions of the input clock tick. Time is in
/// absolute input-clock ticks supplied by <see cref="Pit8254"/>; nothing here reads a clock.
/// </summary>
/// <remarks>
/// A count written at tick T is loaded into the counting element at tick T+1 (the datasheet's "next
/// CLK pulse") and decremented on each tick after that, so in mode 0 OUT rises N+1 ticks after the
/// write. The gate input is tied high (channels 0 and 1 on a PC; channel 2 too, since port 61h is
/// not emulated), so the hardware-triggered modes 1 and 5 never start: OUT stays high and the count
/// reads the value held before.
/// </remarks>
internal sealed class PitChannel
{
    private const byte AccessLow = 1, AccessHigh = 2, AccessLowHigh = 3;

    private byte _access = AccessLowHigh, _modeBits, _mode;
    private bool _bcd;
    private bool _counting;          // a count is loaded (or will be at _loadTick) and the counter runs
    private bool _outWhenStopped = true;
    private int _reload;             // N in ticks, 1 .. 65536 (10000 in BCD)
    private long _loadTick;
    private bool _pendingReload;
    private int _pendingValue;
    private long _pendingTick;       // the period boundary where the pending count is taken
    private bool _nullCount = true;
    private int _heldValue;          // count shown while not counting
    private bool _writeHighNext;
    private byte _writeLow;
    private bool _readHighNext;
    private bool _countLatched, _latchHighNext;
    private ushort _latchedCount;
    private bool _statusLatched;
    private byte _latchedStatus;
    private long _edgesBeforeEpoch;

    private int Modulus => _bcd ? 10000 : 65536;

    /// <summary>Rising edges of OUT since power-on, up to <paramref name="now"/> (edges caused by control words are not counted).</summary>
    public long TotalEdges(long now)
    {
        Normalize(now);
        return _edgesBeforeEpoch + EdgesInEpoch(now);
    }

    /// <summary>The tick of the next rising edge of OUT after <paramref name="now"/>, or false when none is coming.</summary>
    public bool TryGetNextEdgeTick(long now, out long tick)
    {
        Normalize(now);
        tick = 0;
        if (!_counting)
            return false;
        long k = now - _loadTick;
        int n = _reload;
        switch (_mode)
        {
            case 0:
                if (k >= n)
                    return false;
                tick = _loadTick + n;
                return true;
            case 2:
            case 3:
                tick = k < 0 ? _loadTick + n : _loadTick + (k / n + 1) * n;
                return true;
            case 4:
                if (k >= n + 1)
                    return false;
                tick = _loadTick + n + 1;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The OUT pin at <paramref name="now"/>.</summary>
    public bool Output(long now)
    {
        Normalize(now);
        if (!_counting)
            return _outWhenStopped;
        long k = now - _loadTick;
        if (k < 0)
            return _mode != 0;
        int n = _reload;
        return _mode switch
        {
            0 => k >= n,
            2 => k % n != n - 1,
            3 => k % n < (n + 1) / 2,
            4 => k != n,
            _ => true,
        };
    }

    /// <summary>Handles a control word addressed to this counter (RW bits not 00).</summary>
    public void Program(byte controlWord, long now)
    {
        _heldValue = CurrentCount(now);
        CloseEpoch(now);
        _access = (byte)((controlWord >> 4) & 3);
        _modeBits = (byte)((controlWord >> 1) & 7);
        _mode = _modeBits switch { 6 => 2, 7 => 3, _ => _modeBits };
        _bcd = (controlWord & 1) != 0;
        _counting = false;
        _pendingReload = false;
        _outWhenStopped = _mode != 0; // mode 0: OUT low after the control word; others high
        _nullCount = true;
        _writeHighNext = _readHighNext = false;
        _countLatched = _statusLatched = false;
    }

    /// <summary>Counter latch command: freezes the count for the next read(s); ignored while a latch is unread.</summary>
    public void LatchCount(long now)
    {
        if (_countLatched)
            return;
        _latchedCount = Encode(CurrentCount(now));
        _countLatched = true;
        _latchHighNext = false;
    }

    /// <summary>Read-back status latch; ignored while a status latch is unread.</summary>
    public void LatchStatus(long now)
    {
        if (_statusLatched)
            return;
        bool output = Output(now);
        _latchedStatus = (byte)((output ? 0x80 : 0) | (NullCount(now) ? 0x40 : 0) | (_access << 4) | (_modeBits << 1) | (_bcd ? 1 : 0));
        _statusLatched = true;
    }

    /// <summary>A read of the counter's port.</summary>
    public byte ReadPort(long now)
    {
        if (_statusLatched)
        {
            _statusLatched = false;
            return _latchedStatus;
        }
        if (_countLatched)
        {
            ushort latched = _latchedCount;
            switch (_access)
            {
                case AccessLow:
                    _countLatched = false;
                    return (byte)latched;
                case AccessHigh:
                    _countLatched = false;
                    return (byte)(latched >> 8);
                default:
                    if (!_latchHighNext)
                    {
                        _latchHighNext = true;
                        return (byte)latched;
                    }
                    _countLatched = false;
                    _latchHighNext = false;
                    return (byte)(latched >> 8);
            }
        }
        ushort live = Encode(CurrentCount(now));
        switch (_access)
        {
            case AccessLow:
                return (byte)live;
            case AccessHigh:
                return (byte)(live >> 8);
            default:
                _readHighNext = !_readHighNext;
                return _readHighNext ? (byte)live : (byte)(live >> 8);
        }
    }

    /// <summary>A write of the counter's port: a byte of the initial count.</summary>
    public void WritePort(byte value, long now)
    {
        int raw;
        switch (_access)
        {
            case AccessLow:
                raw = value;
                break;
            case AccessHigh:
                raw = value << 8;
                break;
            default:
                if (!_writeHighNext)
                {
                    _writeLow = value;
                    _writeHighNext = true;
                    if (_mode == 0 && _counting)
                    {
                        // Mode 0: writing the first byte stops the count and drives OUT low.
                        _heldValue = CurrentCount(now);
                        CloseEpoch(now);
                        _outWhenStopped = false;
                    }
                    return;
                }
                _writeHighNext = false;
                raw = _writeLow | (value << 8);
                break;
        }
        LoadCount(Decode(raw), now);
    }

    /// <summary>The status byte's NULL COUNT bit: the last count written is not yet in the counting element.</summary>
    private bool NullCount(long now)
    {
        Normalize(now);
        if (_pendingReload || !_counting && _nullCount)
            return true;
        return _counting && now < _loadTick;
    }

    private void LoadCount(int value, long now)
    {
        Normalize(now);
        int n = value == 0 ? Modulus : value;
        if (_mode is 1 or 5)
        {
            // Waits for a gate trigger that never comes (gate tied high).
            _reload = n;
            _nullCount = true;
            _outWhenStopped = true;
            return;
        }
        if (_counting && _mode is 2 or 3)
        {
            // Periodic modes take a new count at the end of the current period.
            long k = Math.Max(0, now - _loadTick);
            _pendingReload = true;
            _pendingValue = n;
            _pendingTick = _loadTick + (k / _reload + 1) * _reload;
            return;
        }
        CloseEpoch(now);
        _reload = n;
        _loadTick = now + 1;
        _counting = true;
        _nullCount = false;
    }

    /// <summary>Takes a pending periodic reload once its period boundary has passed.</summary>
    private void Normalize(long now)
    {
        if (!_pendingReload || now < _pendingTick)
            return;
        _edgesBeforeEpoch += EdgesAt(_pendingTick - _loadTick);
        _loadTick = _pendingTick;
        _reload = _pendingValue;
        _pendingReload = false;
    }

    private void CloseEpoch(long now)
    {
        Normalize(now);
        if (_counting)
            _edgesBeforeEpoch += EdgesInEpoch(now);
        _counting = false;
    }

    private long EdgesInEpoch(long now) => _counting ? EdgesAt(now - _loadTick) : 0;

    private long EdgesAt(long k)
    {
        if (k <= 0)
            return 0;
        int n = _reload;
        return _mode switch
        {
            0 => k >= n ? 1 : 0,
            2 or 3 => k / n,
            4 => k >= n + 1 ? 1 : 0,
            _ => 0,
        };
    }

    /// <summary>The counting element's value (binary, 0 .. modulus-1).</summary>
    private int CurrentCount(long now)
    {
        Normalize(now);
        if (!_counting)
            return _heldValue;
        long k = Math.Max(0, now - _loadTick);
        int n = _reload;
        int m = Modulus;
        switch (_mode)
        {
            case 0:
            case 4:
                return (int)(((n - k) % m + m) % m);
            case 2:
                return (int)((n - k % n) % m);
            case 3:
            {
                // Decrements by two; OUT high for ceil(N/2) ticks, low for floor(N/2).
                long p = k % n;
                int high = (n + 1) / 2;
                int even = n & ~1;
                long value = p < high ? even - 2 * p : even - 2 * (p - high);
                if (value <= 0)
                    value = 2;
                return (int)(value % m);
            }
            default:
                return _heldValue;
        }
    }

    private ushort Encode(int value)
    {
        if (!_bcd)
            return (ushort)value;
        value %= 10000;
        return (ushort)((value / 1000 << 12) | (value / 100 % 10 << 8) | (value / 10 % 10 << 4) | (value % 10));
    }

    private int Decode(int raw)
    {
        if (!_bcd)
            return raw;
        // Nibbles above 9 are taken at face value (an invalid BCD count is the guest's problem).
        int value = (raw >> 12 & 0xF) * 1000 + (raw >> 8 & 0xF) * 100 + (raw >> 4 & 0xF) * 10 + (raw & 0xF);
        return value % 10000;
    }
}
