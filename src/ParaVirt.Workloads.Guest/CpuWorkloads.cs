using Internal.Runtime;
using ParaVirt.Abi;
using ParaVirt.Guest;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// The CPU workloads of the workloads guest, one operation each, measured between the
/// <see cref="Measurement"/> markers:
/// <c>irq-mask</c> (one disable/enable pair around a short critical section),
/// <c>clock-read</c> (one read of the current time),
/// <c>timer-sleep</c> (arm a 100 µs one-shot timer and wait for it),
/// <c>multicall</c> (32 null hypercalls: one by one in full mode, one 32-entry multicall in para mode),
/// <c>cpuid</c> (one <c>cpuid</c> of the hypervisor leaf: trapped and emulated in full mode, answered
/// in-kernel in para mode; on a host where it cannot trap, both read the outer hypervisor).
/// </summary>
internal static unsafe class CpuWorkloads
{
    private const int CallsPerMulticall = 32;
    private const ulong SleepNanoseconds = 100_000;
    private static ulong s_critical;

    /// <summary>Runs workload <paramref name="name"/> for <paramref name="operations"/> operations if it is a CPU workload.</summary>
    /// <returns>False when <paramref name="name"/> is not a CPU workload.</returns>
    public static bool TryRun(System.ReadOnlySpan<byte> name, long operations, out int exitCode)
    {
        exitCode = 0;
        if (WorkloadCommandLine.Is(name, "irq-mask"))
            exitCode = IrqMask(operations);
        else if (WorkloadCommandLine.Is(name, "clock-read"))
            exitCode = ClockRead(operations);
        else if (WorkloadCommandLine.Is(name, "timer-sleep"))
            exitCode = TimerSleep(operations);
        else if (WorkloadCommandLine.Is(name, "multicall"))
            exitCode = Multicall(operations);
        else if (WorkloadCommandLine.Is(name, "cpuid"))
            exitCode = CpuidLeaf(operations);
        else
            return false;
        return true;
    }

    private static int IrqMask(long operations)
    {
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
        {
            Cpu.DisableInterrupts();
            s_critical++;
            Cpu.EnableInterrupts();
        }
        Measurement.Stop(operations);
        return s_critical == (ulong)operations ? WorkloadProtocol.ExitOk : Report.Failure("irq-mask count", -1, WorkloadProtocol.ExitVerifyFailed);
    }

    private static int ClockRead(long operations)
    {
        ulong first = Cpu.NowNanoseconds(); // starts the PIT clock (full) outside the window
        ulong last = first;
        bool monotonic = true;
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
        {
            ulong now = Cpu.NowNanoseconds();
            monotonic &= now >= last;
            last = now;
        }
        Measurement.Stop(operations);
        if (!monotonic || last == first)
            return Report.Failure("clock-read: time went backwards or stood still", -1, WorkloadProtocol.ExitVerifyFailed);
        return WorkloadProtocol.ExitOk;
    }

    private static int TimerSleep(long operations)
    {
        Events.Install();                   // IDT (full) or event callback (para), outside the window
        ulong start = Cpu.NowNanoseconds();
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
            Timer.Sleep(SleepNanoseconds);
        Measurement.Stop(operations);
        ulong elapsed = Cpu.NowNanoseconds() - start;
        if (Events.TimerEvents < (ulong)operations)
            return Report.Failure("timer-sleep: fewer timer events than sleeps", (int)Events.TimerEvents, WorkloadProtocol.ExitVerifyFailed);
        if (elapsed < (ulong)operations * SleepNanoseconds)
            return Report.Failure("timer-sleep: woke before the deadline", (int)(elapsed / 1000), WorkloadProtocol.ExitVerifyFailed);
        return WorkloadProtocol.ExitOk;
    }

    private static int Multicall(long operations)
    {
#if PARAVIRT_PARA
        MulticallEntry* entries = stackalloc MulticallEntry[CallsPerMulticall];
        for (int i = 0; i < CallsPerMulticall; i++)
            entries[i] = new MulticallEntry { Number = (ulong)Hypercall.Null, Result = -1 };
        long done = 0;
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
            done += RawHypercall.Call(Hypercall.Multicall, (ulong)entries, CallsPerMulticall);
        Measurement.Stop(operations);
        if (done != operations * CallsPerMulticall || entries[CallsPerMulticall - 1].Result != 0)
            return Report.Failure("multicall: not every entry ran", (int)done, WorkloadProtocol.ExitVerifyFailed);
#else
        long failures = 0;
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
            for (int c = 0; c < CallsPerMulticall; c++)
                failures += Hypercalls.Null() != 0 ? 1 : 0;
        Measurement.Stop(operations);
        if (failures != 0)
            return Report.Failure("multicall: a null hypercall failed", (int)failures, WorkloadProtocol.ExitVerifyFailed);
#endif
        return WorkloadProtocol.ExitOk;
    }

    private static int CpuidLeaf(long operations)
    {
        uint* answer = stackalloc uint[4];
        ulong differing = 0;
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
        {
            Cpu.Cpuid(HypervisorCpuid.SignatureLeaf, 0, answer);
            // "ParaVirtHV\0\0" in EBX, ECX, EDX.
            differing += answer[1] != HypervisorCpuid.SignatureEbx || answer[2] != HypervisorCpuid.SignatureEcx || answer[3] != HypervisorCpuid.SignatureEdx ? 1UL : 0UL;
        }
        Measurement.Stop(operations);
        if (differing == (ulong)operations)
            return Report.Failure("cpuid: the hypervisor leaf is not ParaVirt's (not virtualized on this host)", (int)answer[1], WorkloadProtocol.ExitNotVirtualized);
        if (differing != 0)
            return Report.Failure("cpuid: the hypervisor leaf changed between calls", (int)differing, WorkloadProtocol.ExitVerifyFailed);
        return WorkloadProtocol.ExitOk;
    }
}
