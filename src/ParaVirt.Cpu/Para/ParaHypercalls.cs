using ParaVirt.Abi;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;

namespace ParaVirt.Cpu.Para;

/// <summary>
/// The CPU paravirtualization hypercalls (numbers 7 to 9): <see cref="Hypercall.SchedOp"/>,
/// <see cref="Hypercall.SetTimer"/>, <see cref="Hypercall.SetEventCallback"/>. Every handler runs
/// on the vCPU thread and allocates nothing.
/// </summary>
internal sealed class ParaHypercalls
{
    private readonly VirtualCpu _cpu;

    private ParaHypercalls(VirtualCpu cpu) => _cpu = cpu;

    public static void Register(VirtualCpu cpu, HypercallTable table)
    {
        var calls = new ParaHypercalls(cpu);
        table.Register(Hypercall.SchedOp, calls.SchedOp);
        table.Register(Hypercall.SetTimer, calls.SetTimer);
        table.Register(Hypercall.SetEventCallback, calls.SetEventCallback);
    }

    private long SchedOp(VirtualMachine vm, in HypercallArgs a)
    {
        _cpu.LeftGuest();
        _cpu.PvClock.Refresh();
        switch ((Abi.SchedOp)a.Arg0)
        {
            case Abi.SchedOp.Yield:
                return 0;
            case Abi.SchedOp.Block:
                return Block(vm, (long)a.Arg1);
            case Abi.SchedOp.Shutdown:
                return vm.Hypercalls.Dispatch(vm, (ulong)Hypercall.Shutdown, new HypercallArgs(a.Arg1, a.Arg2, a.Arg3));
            default:
                return (long)HypercallStatus.InvalidArgument;
        }
    }

    /// <summary>Waits until an event is pending (1) or the deadline passes (0); with nothing that could wake it, stops the VM.</summary>
    private long Block(VirtualMachine vm, long deadline)
    {
        while (true)
        {
            _cpu.PollTimers(_cpu.NowNanoseconds);
            _cpu.PublishPendingEvents();
            if (_cpu.EventPendingInShared)
                return 1;
            if (vm.IsStopping)
                return 0;
            long now = _cpu.NowNanoseconds;
            if (deadline > 0 && now >= deadline)
                return 0;
            if (deadline <= 0 && !_cpu.HasWakeSource())
            {
                _cpu.PublishPendingEvents();
                if (_cpu.EventPendingInShared)
                    return 1;
                vm.Stop(VirtualCpu.Stop("sched_op block with no deadline, no timer armed and no event source: nothing can wake the vCPU"));
                return (long)HypercallStatus.InvalidArgument;
            }
            long until = _cpu.NextDeadline();
            if (deadline > 0 && deadline < until)
                until = deadline;
            _cpu.Wait(until);
        }
    }

    private long SetTimer(VirtualMachine vm, in HypercallArgs a)
    {
        _cpu.LeftGuest();
        _cpu.PvClock.Refresh();
        _cpu.SetTimer((long)a.Arg0);
        return 0;
    }

    private long SetEventCallback(VirtualMachine vm, in HypercallArgs a)
    {
        // Invariant: the callback lies in guest RAM, never in the platform pages below it.
        if (a.Arg0 != 0 && (a.Arg0 < vm.Layout.GuestRamStart || !vm.Memory.IsValid(a.Arg0, 1)))
            return (long)HypercallStatus.BadAddress;
        _cpu.EventCallback = a.Arg0;
        return 0;
    }
}
