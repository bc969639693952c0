namespace ParaVirt.Guest;

/// <summary>
/// The paravirtual flavour of <see cref="Cpu"/>: hypercalls and shared pages instead of
/// privileged instructions. PLACEHOLDER: the para mechanisms (virtual interrupt flag in the
/// shared-info page, port I/O and clock hypercalls) are specified by issues C and D; until then
/// every method here stops the VM with a reason naming what is missing, so a para build never
/// silently executes a privileged instruction.
/// </summary>
public static class ParaOperations
{
    /// <summary>Stops the VM: <paramref name="operation"/> has no para implementation yet.</summary>
    public static void NotYetAvailable(string operation)
    {
        Hypercalls.Shutdown(Internal.Runtime.GuestFailFast.ExitCode,
            operation);
    }

    /// <summary>Para interrupt disable (placeholder).</summary>
    public static void DisableInterrupts() => NotYetAvailable("para Cpu.DisableInterrupts is not implemented yet (virtual IF: issue C)");

    /// <summary>Para interrupt enable (placeholder).</summary>
    public static void EnableInterrupts() => NotYetAvailable("para Cpu.EnableInterrupts is not implemented yet (virtual IF: issue C)");

    /// <summary>Para halt (placeholder).</summary>
    public static void Halt() => NotYetAvailable("para Cpu.Halt is not implemented yet (issue C)");

    /// <summary>Para port read (placeholder).</summary>
    public static uint PortIn(ushort port, int size)
    {
        NotYetAvailable("para Cpu port input is not implemented yet (issue D)");
        return 0;
    }

    /// <summary>Para port write (placeholder).</summary>
    public static void PortOut(ushort port, int size, uint value) => NotYetAvailable("para Cpu port output is not implemented yet (issue D)");

    /// <summary>Para control-register or MSR access (placeholder).</summary>
    public static ulong Register(string what)
    {
        NotYetAvailable(what);
        return 0;
    }

    /// <summary>Para clock (placeholder until the shared clock page exists).</summary>
    public static ulong NowNanoseconds()
    {
        NotYetAvailable("para Cpu.NowNanoseconds is not implemented yet (clock page: issue D)");
        return 0;
    }
}
