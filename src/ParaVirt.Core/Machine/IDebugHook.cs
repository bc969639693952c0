using ParaVirt.Core.Cpu;

namespace ParaVirt.Core.Machine;

/// <summary>
/// A debugger attached to a <see cref="VirtualMachine"/> (the gdb stub implements it). The run
/// loop calls it only when one is attached (<see cref="VirtualMachine.Debugger"/> non-null): with
/// none, the loop costs one null check per exit and the exits are exactly those of an undebugged run.
/// All three calls come on the vCPU thread.
/// </summary>
public interface IDebugHook
{
    /// <summary>
    /// Called before every entry into the guest. May block while the debugger holds the guest
    /// stopped (and read or change <paramref name="registers"/> and memory meanwhile); must return
    /// soon once <see cref="VirtualMachine.IsStopping"/> becomes true. Returns a stop reason to end
    /// the run (the debugger killed the guest), or null to enter the guest.
    /// </summary>
    VmStopReason? BeforeEntry(VirtualMachine vm, ref Registers registers);

    /// <summary>
    /// Called for every exit before the VM handles it. Returns true when the exit was the
    /// debugger's (its breakpoint, its single step): the VM then does not handle it, and the next
    /// <see cref="BeforeEntry"/> reports the stop. Exits that are not the debugger's go on as usual.
    /// </summary>
    bool OnExit(VirtualMachine vm, in VcpuExit exit, ref Registers registers);

    /// <summary>Called once when a run ends, with why: the debugger tells its client (exit code, signal).</summary>
    void RunEnded(VirtualMachine vm, VmStopReason reason);
}
