using ParaVirt.Core.Machine;

namespace ParaVirt.Cpu;

/// <summary>
/// Attaches CPU virtualization to a VM for a mode: in full mode the trap emulator and the emulated
/// timekeeping devices, in para mode the paravirtual replacements. The workload runner calls this
/// for every VM it builds.
/// </summary>
public static class CpuVirtualization
{
    /// <summary>Prepares <paramref name="vm"/> for a guest built in <paramref name="mode"/>.</summary>
    public static void Attach(VirtualMachine vm, VirtualizationMode mode)
    {
        // Filled in by the CPU virtualization work (issue D).
    }
}
