using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Cpu.Emulation;
using ParaVirt.Cpu.Interrupts;
using ParaVirt.Cpu.Para;
using ParaVirt.Cpu.Timekeeping;
using ParaVirt.Devices.Emulated.Pit;
using ParaVirt.Devices.Emulated.Rtc;
using ParaVirt.Devices.Emulated.Timing;
using ParaVirt.Core.Engine;

namespace ParaVirt.Cpu;

/// <summary>
/// CPU virtualization of one VM: the virtual CPU state, pending virtual interrupts, timers, the
/// PV clock, the emulated PIT/RTC it is given (it creates no devices), and delivery of interrupts
/// into the CPL3 guest. Created by
/// <see cref="CpuVirtualization.Attach"/>; it is the VM's <see cref="IResumeHook"/> (and, in full
/// mode, its trap handler).
/// </summary>
/// <remarks>
/// <para>Lines: 64 interrupt lines, raised from any thread with <see cref="Raise"/>. Full mode
/// delivers line n as vector <see cref="IrqVectorBase"/> + n through the guest's virtual IDT when
/// the virtual IF is set; para mode sets event channel n in the shared-info page and enters the
/// guest's event callback when <see cref="SharedInfo.EventMask"/> is 0. Line 0 is the timer
/// (PIT IRQ0 in full mode, <see cref="Hypercall.SetTimer"/> in para mode).</para>
/// <para>Delivery happens only at exits where rewriting RIP is safe: trap exits (after
/// emulation), hlt emulation and Interrupted exits (kicks). Never at port-I/O or hypercall exits:
/// KVM completes those instructions on re-entry and checks RIP.</para>
/// </remarks>
/// <example><code>
/// VirtualCpu cpu = MachineBuilder.Create().WithMode(VirtualizationMode.Full).Build().Cpu!;
/// cpu.RegisterEventSource();          // a device will raise line 1
/// cpu.Raise(1);                       // from the device's thread: delivered as vector 0x21
/// </code></example>
public sealed unsafe class VirtualCpu : IResumeHook, IDisposable
{
    /// <summary>The vector of line 0 in full mode (lines 0-15 map to 0x20-0x2F, as a remapped PIC).</summary>
    public const int IrqVectorBase = 0x20;

    private const long PollIntervalNs = 1_000_000;

    private readonly VirtualMachine _vm;
    private readonly IClock _clock;
    private readonly DeadlineKicker _kicker;
    private readonly ManualResetEventSlim _wake = new(false, 0);
    private readonly SharedInfo* _shared;
    private long _pendingLines;
    private int _eventSources;
    private long _timerDeadline; // para one-shot timer, system ns; 0 = none; vCPU thread only

    internal VirtualCpu(VirtualMachine vm, VirtualizationMode mode, IClock clock, Pit8254? pit, CmosRtc? rtc)
    {
        _vm = vm;
        Mode = mode;
        _clock = clock;
        Pit = pit;
        Rtc = rtc;
        _kicker = new DeadlineKicker(vm, _clock, CouldTakeInterrupt);
        ulong sharedAddress = vm.Layout.SharedInfoPage;
        if (sharedAddress != 0 && vm.WritableMemory.TryGetSpan(sharedAddress, 4096, out Span<byte> page))
            _shared = (SharedInfo*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(page)); // guest RAM never moves
        PvClock = new PvClockPublisher(vm.WritableMemory, sharedAddress, vm.GetVcpuFeature<IVcpuMsrAccess>(), _clock);
    }

    /// <summary>The mode the guest was built for.</summary>
    public VirtualizationMode Mode { get; }

    /// <summary>The virtual privileged CPU state (full mode).</summary>
    public VirtualCpuState State { get; } = new();

    /// <summary>The virtual MSR file and its grant list (full mode).</summary>
    public MsrFile Msrs { get; } = new();

    /// <summary>The emulated PIT the full-mode guest's timers run on (counting on this CPU's clock), or null.</summary>
    public Pit8254? Pit { get; }

    /// <summary>The emulated CMOS RTC (full mode), or null.</summary>
    public CmosRtc? Rtc { get; }

    /// <summary>The trap emulator (full mode), also installed as the VM's trap handler.</summary>
    public TrapEmulator? Emulator { get; internal set; }

    /// <summary>The guest's registered event callback (para mode), 0 if none.</summary>
    public ulong EventCallback { get; internal set; }

    /// <summary>Interrupts (full) or event callbacks (para) delivered into the guest.</summary>
    public long Delivered { get; private set; }

    /// <summary>Kicks the host issued at timer deadlines.</summary>
    public long Kicks => _kicker.Kicks;

    /// <summary>Timers armed with <see cref="Hypercall.SetTimer"/>.</summary>
    public long TimersArmed { get; internal set; }

    /// <summary>The VM's system time in ns (the PV clock's and the timers' time base).</summary>
    public long NowNanoseconds => _clock.NowNanoseconds;

    internal PvClockPublisher PvClock { get; }

    internal IClock Clock => _clock;

    internal VirtualMachine Machine => _vm;

    internal SharedInfo* Shared => _shared;

    /// <summary>
    /// True when cpuid traps and the trap emulator answers it: the engine accepted CPUID faulting
    /// and its probe (<see cref="Core.Engine.IHypervisor.Behaviour"/>) found that a guest cpuid
    /// really traps on this host. False on hosts that answer a CPL3 cpuid natively (an AMD host
    /// under a nested <c>kvm_pvm</c>): there full mode cannot virtualize cpuid.
    /// </summary>
    public bool CpuidFaulting { get; private set; }

    /// <summary>
    /// Turns CPUID faulting on (MSR_MISC_FEATURES_ENABLES bit 0 through the engine) where the
    /// engine's probe found that it makes a guest cpuid trap; elsewhere leaves it off, so the VM's
    /// state says what really happens.
    /// </summary>
    internal void EnableCpuidFaulting()
    {
        if (_vm.Engine.Behaviour.CpuidTraps && _vm.GetVcpuFeature<IVcpuMsrAccess>() is { } msrs)
            CpuidFaulting = Core.Engine.CpuidFaulting.TryEnable(msrs);
    }

    /// <summary>Declares that a device may raise lines: a hlt or block with no timer is then a wait, not a dead end.</summary>
    public void RegisterEventSource() => Interlocked.Increment(ref _eventSources);

    /// <summary>Raises interrupt line <paramref name="line"/> (0-63) from any thread; the guest exits soon if it can take it.</summary>
    public void Raise(int line)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(line);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(line, 63);
        Interlocked.Or(ref _pendingLines, 1L << line);
        _wake.Set();
        if (_kicker.GuestRunning)
            _vm.Kick();
    }

    /// <summary>Lines raised and not yet delivered (full) or not yet moved to the shared-info page (para).</summary>
    public long PendingLines => Volatile.Read(ref _pendingLines);

    /// <inheritdoc/>
    public VmStopReason? BeforeResume(VirtualMachine vm, in VcpuExit exit, ref Registers registers)
    {
        // Invariant (ordering): the guest counts as running, and an earlier kick is withdrawn,
        // before the pending lines are looked at; so a line raised from another thread is either
        // seen below or kicks the vCPU again (a kick before entry makes the entry exit at once),
        // never neither. The withdrawn kick (a device thread's Raise during this exit, a deadline)
        // asked for exactly what follows: lines published or delivered, timers polled; kept, it
        // would end the next entry at once for nothing. A stop request is not lost: the run loop
        // checks for one after this hook. The fence keeps both stores ahead of the loads of the
        // lines (x86 may reorder a store with a later load); Raise orders its side with the
        // interlocked OR before it reads the flag.
        _kicker.GuestRunning = true;
        vm.CancelKick();
        Interlocked.MemoryBarrier();
        long now = _clock.NowNanoseconds;
        PollTimers(now);
        if (Mode == VirtualizationMode.Para)
            PublishPendingEvents();
        // Invariant: delivery only where rewriting RIP cannot break an instruction KVM completes on
        // re-entry, and never into the platform's ring-0 pages.
        bool safe = (exit.Reason == ExitReason.Trap || exit.Reason == ExitReason.Interrupted) && registers.Rip >= vm.Layout.HypercallPage;
        bool needPoll = false;
        if (State.InterruptShadow && registers.Rip != State.ShadowRip)
            State.InterruptShadow = false;
        if (State.InterruptShadow && registers.Rip == State.ShadowRip)
        {
            // Still before the instruction after sti (this exit is the sti itself or a kick that
            // landed on it): no delivery, as on hardware.
            needPoll = Volatile.Read(ref _pendingLines) != 0;
        }
        else if (safe)
        {
            VmStopReason? stop = Mode == VirtualizationMode.Full ? DeliverInterrupt(ref registers) : DeliverCallback(ref registers);
            if (stop is not null)
                return stop;
        }
        if (!safe && HasDeliverable())
            needPoll = true;
        long next = NextDeadline();
        if (needPoll && next - now > PollIntervalNs)
            next = now + PollIntervalNs;
        _kicker.Arm(next, now);
        return null;
    }

    /// <inheritdoc/>
    public void RunEnded(VirtualMachine vm)
    {
        _kicker.GuestRunning = false;
        _kicker.Deactivate();
    }

    /// <summary>The vCPU thread is handling an exit: a deadline kick now would only cause a spurious exit later.</summary>
    internal void LeftGuest() => _kicker.GuestRunning = false;

    /// <summary>Moves expired timers onto line 0.</summary>
    internal void PollTimers(long now)
    {
        if (_timerDeadline != 0 && now >= _timerDeadline)
        {
            _timerDeadline = 0;
            Interlocked.Or(ref _pendingLines, 1);
        }
        if (Pit is { } pit && pit.TakeIrq0Edges() > 0)
            Interlocked.Or(ref _pendingLines, 1);
    }

    /// <summary>The earliest timer deadline (system ns), long.MaxValue if none is known.</summary>
    internal long NextDeadline()
    {
        long next = _timerDeadline != 0 ? _timerDeadline : long.MaxValue;
        if (Pit is { } pit && pit.TryGetNextDeadline(out long pitNs))
            next = Math.Min(next, pitNs); // the PIT counts on this CPU's clock: its deadline is system time
        return next;
    }

    /// <summary>Whether anything could ever wake a halted or blocked vCPU.</summary>
    internal bool HasWakeSource()
    {
        if (NextDeadline() != long.MaxValue || Volatile.Read(ref _eventSources) > 0)
            return true;
        // A PIT edge may have passed between the last poll and the deadline query: poll again.
        PollTimers(_clock.NowNanoseconds);
        return Volatile.Read(ref _pendingLines) != 0;
    }

    /// <summary>Arms (deadline &gt; 0) or cancels (0) the para one-shot timer; a past deadline raises line 0 now.</summary>
    internal void SetTimer(long deadline)
    {
        TimersArmed++;
        if (deadline <= 0)
        {
            _timerDeadline = 0;
            return;
        }
        if (deadline <= _clock.NowNanoseconds)
        {
            _timerDeadline = 0;
            Interlocked.Or(ref _pendingLines, 1);
            return;
        }
        _timerDeadline = deadline;
    }

    /// <summary>Whether the guest could take an interrupt now (read racily from the kick timer's thread).</summary>
    private bool CouldTakeInterrupt() =>
        Mode == VirtualizationMode.Full ? State.InterruptsEnabled : _shared != null && EventCallback != 0 && _shared->EventMask == 0;

    private bool HasDeliverable()
    {
        if (Mode == VirtualizationMode.Full)
            return State.InterruptsEnabled && Volatile.Read(ref _pendingLines) != 0;
        return _shared != null && EventCallback != 0 && _shared->EventMask == 0 && _shared->EventPending != 0;
    }

    /// <summary>Para: moves raised lines into the shared-info page (only on the vCPU thread, while the guest is out).</summary>
    internal void PublishPendingEvents()
    {
        if (_shared == null || Volatile.Read(ref _pendingLines) == 0)
            return;
        long lines = Interlocked.Exchange(ref _pendingLines, 0);
        _shared->PendingEvents |= (ulong)lines;
        _shared->EventPending = 1;
    }

    /// <summary>Para: whether an event is pending in the shared-info page.</summary>
    internal bool EventPendingInShared => _shared != null && _shared->EventPending != 0;

    /// <summary>
    /// Waits on the vCPU thread (hlt, block) until something is pending, <paramref name="until"/>
    /// passes or the VM is asked to stop. Spins for the last 200 µs for precision.
    /// </summary>
    internal void Wait(long until)
    {
        // Invariant: the vCPU is in an exit handler until BeforeResume marks it running again; a
        // line raised meanwhile is found by this loop or by BeforeResume, so it needs no kick (a
        // kick here would only cost the next entry a spurious Interrupted exit).
        _kicker.GuestRunning = false;
        while (true)
        {
            long now = _clock.NowNanoseconds;
            PollTimers(now);
            if (Volatile.Read(ref _pendingLines) != 0 || _vm.IsStopping || now >= until)
                return;
            long next = Math.Min(until, NextDeadline());
            long remaining = next - now;
            if (remaining > 2_000_000)
            {
                _wake.Wait((int)Math.Min((remaining - 1_000_000) / 1_000_000, 10));
                _wake.Reset();
            }
            else if (remaining > 200_000)
                Thread.Yield();
            else
                Thread.SpinWait(16);
        }
    }

    private VmStopReason? DeliverInterrupt(ref Registers r)
    {
        long pending = Volatile.Read(ref _pendingLines);
        if (pending == 0 || !State.InterruptsEnabled)
            return null;
        int line = BitOperations.TrailingZeroCount(pending);
        byte vector = (byte)(IrqVectorBase + line);
        if (!VirtualIdt.TryReadGate(_vm.Memory, State, vector, out ulong handler, out bool clears))
            return Stop($"IRQ{line} (vector 0x{vector:x}) is pending with interrupts enabled, but the virtual IDT ({(State.IdtLoaded ? $"0x{State.IdtBase:x} limit 0x{State.IdtLimit:x}" : "never loaded")}) has no present gate for it inside guest memory");
        if (!_vm.IsGuestCodeAddress(handler))
            return Stop(VirtualIdt.DescribeBadTarget(vector, handler));
        ulong pushed = (r.Rflags & ~Registers.InterruptFlag) | Registers.InterruptFlag;
        if (!InterruptFrame.TryDeliver(_vm.WritableMemory, ref r, handler, pushed, false, 0))
            return Stop($"cannot deliver vector 0x{vector:x}: the interrupt frame below RSP 0x{r.Rsp:x} is outside guest memory");
        Interlocked.And(ref _pendingLines, ~(1L << line));
        if (clears)
            State.InterruptsEnabled = false;
        Delivered++;
        return null;
    }

    private VmStopReason? DeliverCallback(ref Registers r)
    {
        if (_shared == null || EventCallback == 0 || _shared->EventMask != 0 || _shared->EventPending == 0)
            return null;
        // SetEventCallback accepts only guest RAM; checked again where the guest is entered.
        if (!_vm.IsGuestCodeAddress(EventCallback))
            return Stop($"the event callback 0x{EventCallback:x} is not an address in the guest's pages");
        if (!InterruptFrame.TryDeliver(_vm.WritableMemory, ref r, EventCallback, r.Rflags, false, 0))
            return Stop($"cannot enter the event callback: the frame below RSP 0x{r.Rsp:x} is outside guest memory");
        _shared->EventMask = 1; // as an interrupt gate: masked until the callback unmasks
        _shared->CallbacksDelivered++;
        Delivered++;
        return null;
    }

    internal static VmStopReason Stop(string message) => new(VmStopKind.UnhandledTrap, -1, message);

    /// <summary>
    /// Stops the deadline timer; the VM calls this when it is disposed. The wake event stays: a
    /// device thread may still raise a line, and setting a disposed event would throw on its thread.
    /// </summary>
    public void Dispose() => _kicker.Dispose();
}
