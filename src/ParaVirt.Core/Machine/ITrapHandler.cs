using ParaVirt.Core.Cpu;

namespace ParaVirt.Core.Machine;

/// <summary>
/// Takes guest exceptions (a privileged instruction at CPL3, a page fault, ...). The trap
/// emulator implements it for full virtualization. Without a handler, or when it returns false,
/// the VM stops with <see cref="VmStopKind.UnhandledTrap"/>.
/// </summary>
public interface ITrapHandler
{
    /// <summary>
    /// Handles the trap described by <paramref name="exit"/>. <paramref name="registers"/> hold the
    /// guest's state at the fault (RIP = faulting instruction); move RIP past the instruction to
    /// resume after it. Return false to stop the VM; set <paramref name="stopMessage"/> to say why.
    /// </summary>
    bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage);
}
