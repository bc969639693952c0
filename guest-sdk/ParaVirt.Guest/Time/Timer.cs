using Internal.Runtime;
using ParaVirt.Abi;
using ParaVirt.Abi.Legacy;

namespace ParaVirt.Guest;

/// <summary>
/// One-shot sleeps. Full flavour: PIT channel 0 in mode 0 (interrupt on terminal count) raises
/// IRQ0, delivered as vector 0x20 through the virtual IDT while the guest waits in <c>sti; hlt</c>.
/// Para flavour: <see cref="Hypercall.SetTimer"/> then <see cref="SchedOp.Block"/> until the timer
/// event is pending: two exits.
/// </summary>
/// <example><code>
/// Timer.Sleep(100_000);   // 100 µs
/// </code></example>
public static unsafe class Timer
{
    private static byte* s_safeHalt;

    /// <summary>Waits at least <paramref name="nanoseconds"/> (full: at most 54 ms per call).</summary>
    public static void Sleep(ulong nanoseconds)
    {
        Events.Install();
        ulong before = Events.TimerEvents;
#if PARAVIRT_PARA
        // Events stay masked while the sleeper waits for its own event: the host then has no reason
        // to kick the vCPU at the deadline (block returns when the event is pending).
        SharedInfo* shared = Events.Shared;
        byte mask = shared->EventMask;
        shared->EventMask = 1;
        ulong deadline = PvClockReader.Now() + nanoseconds;
        RawHypercall.Call(Hypercall.SetTimer, deadline);
        while (Events.TimerEvents == before)
        {
            if (shared->EventPending == 0)
                RawHypercall.Call(Hypercall.SchedOp, (ulong)SchedOp.Block, 0);
            Events.DispatchPending();
        }
        shared->EventMask = mask;
#else
        ulong ticks = nanoseconds * PitClock.InputHz / 1_000_000_000UL + 1;
        if (ticks > 0xFFFF)
            ticks = 0xFFFF;
        Cpu.DisableInterrupts();
        Cpu.OutByte(LegacyPorts.PitControl, 0x30);                  // channel 0, lobyte/hibyte, mode 0
        Cpu.OutByte(LegacyPorts.PitChannel0, (byte)ticks);
        Cpu.OutByte(LegacyPorts.PitChannel0, (byte)(ticks >> 8));
        while (Events.TimerEvents == before)
            SafeHalt();                           // sti; hlt: the interrupt cannot slip in between
        Cpu.DisableInterrupts();
#endif
    }

    /// <summary><c>sti; hlt</c> as one sequence (Linux's safe_halt): the sti shadow covers the hlt.</summary>
    public static void SafeHalt()
    {
        if (s_safeHalt == null)
        {
            byte* code = CodeBuffer.Allocate(3);
            CodeBuffer.Emit(code, [0xFB, 0xF4, 0xC3]); // sti; hlt; ret
            s_safeHalt = code;
        }
        ((delegate* unmanaged<void>)s_safeHalt)();
    }
}
