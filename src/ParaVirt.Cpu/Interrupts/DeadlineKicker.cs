using System;
using System.Threading;
using ParaVirt.Core.Machine;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Cpu.Interrupts;

/// <summary>
/// Makes a running guest exit at its next timer deadline: a host timer that kicks the vCPU
/// (an Interrupted exit, where the virtual interrupt is delivered). Armed only while a run is
/// active; after <see cref="Deactivate"/> it never kicks, so it cannot touch a disposed vCPU.
/// </summary>
internal sealed class DeadlineKicker : IDisposable
{
    private readonly VirtualMachine _vm;
    private readonly Timer _timer;
    private readonly object _gate = new();
    private bool _active;
    private volatile bool _guestRunning;
    private long _armedFor = long.MaxValue;

    private readonly IClock _clock;

    private readonly Func<bool> _couldTakeInterrupt;

    /// <param name="vm">The VM to kick.</param>
    /// <param name="clock">The system time deadlines count in.</param>
    /// <param name="couldTakeInterrupt">Whether a kick now could deliver anything (virtual IF set, events unmasked); read from the timer thread.</param>
    public DeadlineKicker(VirtualMachine vm, IClock clock, Func<bool> couldTakeInterrupt)
    {
        _couldTakeInterrupt = couldTakeInterrupt;
        _vm = vm;
        _clock = clock;
        _timer = new Timer(static state => ((DeadlineKicker)state!).Fire(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Kicks issued (each one an Interrupted exit of the guest).</summary>
    public long Kicks { get; private set; }

    /// <summary>Whether the vCPU is executing guest code (false while the host emulates hlt or a block).</summary>
    public bool GuestRunning
    {
        get => _guestRunning;
        set => _guestRunning = value;
    }

    /// <summary>Arms the kick for system time <paramref name="deadlineNs"/> (long.MaxValue: none). Cheap when unchanged.</summary>
    public void Arm(long deadlineNs, long nowNs)
    {
        if (deadlineNs == Volatile.Read(ref _armedFor))
            return;
        lock (_gate)
        {
            _active = true;
            _armedFor = deadlineNs;
            if (deadlineNs == long.MaxValue)
            {
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
                return;
            }
            _timer.Change(DueMilliseconds(deadlineNs - nowNs), Timeout.Infinite);
        }
    }

    /// <summary>The longest a timer is armed for; a later deadline re-arms when it fires early.</summary>
    private const long MaxDueMilliseconds = 3_600_000;

    /// <summary>
    /// Milliseconds until a deadline <paramref name="remainingNs"/> away, rounded up and clamped to
    /// [0, 1 hour]: the guest chooses the deadline, and Timer.Change throws beyond about 49 days.
    /// </summary>
    internal static long DueMilliseconds(long remainingNs) =>
        remainingNs <= 0 ? 0 : Math.Min(remainingNs / 1_000_000 + 1, MaxDueMilliseconds);

    /// <summary>Stops kicking (the run ended).</summary>
    public void Deactivate()
    {
        lock (_gate)
        {
            _active = false;
            _armedFor = long.MaxValue;
            _timer.Change(Timeout.Infinite, Timeout.Infinite);
        }
    }

    private void Fire()
    {
        lock (_gate)
        {
            // A callback that lost a race with Arm or Deactivate, or one that fires before the
            // deadline it now stands for, must not kick: a spurious exit would spoil exact counts.
            if (!_active || _armedFor == long.MaxValue)
                return;
            long early = _armedFor - _clock.NowNanoseconds;
            if (early > 0)
            {
                _timer.Change(DueMilliseconds(early), Timeout.Infinite);
                return;
            }
            _armedFor = long.MaxValue;
            // With interrupts masked a kick delivers nothing: the guest's own unmask (sti traps; a para
            // unmask is followed by the poll kick armed at the next exit) picks the interrupt up.
            if (_guestRunning && _couldTakeInterrupt())
            {
                Kicks++;
                _vm.Kick();
            }
        }
    }

    public void Dispose() => _timer.Dispose();
}
