using ParaVirt.Core.Cpu;

namespace ParaVirt.Core.Machine;

/// <summary>
/// A hook into the run loop of a <see cref="VirtualMachine"/>: the CPU virtualization layer uses it
/// to deliver virtual interrupts at exits where rewriting the guest's registers is safe.
/// </summary>
public interface IResumeHook
{
    /// <summary>
    /// Called on the vCPU thread after <paramref name="exit"/> was handled and before the guest
    /// resumes; may change <paramref name="registers"/> (on a trap exit they are the guest's at the
    /// fault). Returns a stop reason to end the run, or null. Must not allocate on the hot path.
    /// </summary>
    VmStopReason? BeforeResume(VirtualMachine vm, in VcpuExit exit, ref Registers registers);

    /// <summary>Called on the vCPU thread when a run ends, before <see cref="VirtualMachine.Run"/> returns.</summary>
    void RunEnded(VirtualMachine vm);
}
