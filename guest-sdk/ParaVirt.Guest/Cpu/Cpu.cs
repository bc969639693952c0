namespace ParaVirt.Guest;

/// <summary>
/// The seam for every privileged operation. Drivers call these methods and are written once; the
/// guest project's <c>&lt;ParaVirtMode&gt;</c> picks the flavour at build time:
/// <c>full</c> (symbol <c>PARAVIRT_FULL</c>) executes the privileged instruction
/// (<see cref="PrivilegedInstructions"/>, trapped and emulated by the host), <c>para</c>
/// (<c>PARAVIRT_PARA</c>) uses <see cref="ParaOperations"/> instead.
/// </summary>
/// <example><code>
/// Cpu.DisableInterrupts();
/// Cpu.OutByte(0x3F8, (byte)'A');
/// byte status = Cpu.InByte(0x3FD);
/// Cpu.EnableInterrupts();
/// </code></example>
public static unsafe class Cpu
{
    /// <summary>Clears the interrupt flag.</summary>
    public static void DisableInterrupts()
    {
#if PARAVIRT_PARA
        ParaOperations.DisableInterrupts();
#else
        PrivilegedInstructions.Cli();
#endif
    }

    /// <summary>Sets the interrupt flag.</summary>
    public static void EnableInterrupts()
    {
#if PARAVIRT_PARA
        ParaOperations.EnableInterrupts();
#else
        PrivilegedInstructions.Sti();
#endif
    }

    /// <summary>Waits for the next interrupt.</summary>
    public static void Halt()
    {
#if PARAVIRT_PARA
        ParaOperations.Halt();
#else
        PrivilegedInstructions.Hlt();
#endif
    }

    /// <summary>Reads a byte from I/O port <paramref name="port"/>.</summary>
#if PARAVIRT_PARA
    public static byte InByte(ushort port) => (byte)ParaOperations.PortIn(port, 1);
#else
    public static byte InByte(ushort port) => PrivilegedInstructions.InByte(port);
#endif

    /// <summary>Reads a 16-bit word from I/O port <paramref name="port"/>.</summary>
#if PARAVIRT_PARA
    public static ushort InWord(ushort port) => (ushort)ParaOperations.PortIn(port, 2);
#else
    public static ushort InWord(ushort port) => PrivilegedInstructions.InWord(port);
#endif

    /// <summary>Reads a 32-bit word from I/O port <paramref name="port"/>.</summary>
#if PARAVIRT_PARA
    public static uint InDword(ushort port) => ParaOperations.PortIn(port, 4);
#else
    public static uint InDword(ushort port) => PrivilegedInstructions.InDword(port);
#endif

    /// <summary>Writes a byte to I/O port <paramref name="port"/>.</summary>
#if PARAVIRT_PARA
    public static void OutByte(ushort port, byte value) => ParaOperations.PortOut(port, 1, value);
#else
    public static void OutByte(ushort port, byte value) => PrivilegedInstructions.OutByte(port, value);
#endif

    /// <summary>Writes a 16-bit word to I/O port <paramref name="port"/>.</summary>
#if PARAVIRT_PARA
    public static void OutWord(ushort port, ushort value) => ParaOperations.PortOut(port, 2, value);
#else
    public static void OutWord(ushort port, ushort value) => PrivilegedInstructions.OutWord(port, value);
#endif

    /// <summary>Writes a 32-bit word to I/O port <paramref name="port"/>.</summary>
#if PARAVIRT_PARA
    public static void OutDword(ushort port, uint value) => ParaOperations.PortOut(port, 4, value);
#else
    public static void OutDword(ushort port, uint value) => PrivilegedInstructions.OutDword(port, value);
#endif

    /// <summary>Reads <paramref name="count"/> 16-bit words from <paramref name="port"/> into <paramref name="buffer"/> (<c>rep insw</c>).</summary>
    public static void InWords(ushort port, ushort* buffer, ulong count)
    {
#if PARAVIRT_PARA
        for (ulong i = 0; i < count; i++)
            buffer[i] = (ushort)ParaOperations.PortIn(port, 2);
#else
        PrivilegedInstructions.RepInWords(port, buffer, count);
#endif
    }

    /// <summary>Writes <paramref name="count"/> 16-bit words from <paramref name="buffer"/> to <paramref name="port"/> (<c>rep outsw</c>).</summary>
    public static void OutWords(ushort port, ushort* buffer, ulong count)
    {
#if PARAVIRT_PARA
        for (ulong i = 0; i < count; i++)
            ParaOperations.PortOut(port, 2, buffer[i]);
#else
        PrivilegedInstructions.RepOutWords(port, buffer, count);
#endif
    }

    /// <summary>Reads CR0.</summary>
#if PARAVIRT_PARA
    public static ulong ReadCr0() => ParaOperations.Register("para Cpu.ReadCr0 is not implemented yet (issue C)");
#else
    public static ulong ReadCr0() => PrivilegedInstructions.ReadCr0();
#endif

    /// <summary>Writes CR0.</summary>
#if PARAVIRT_PARA
    public static void WriteCr0(ulong value) => ParaOperations.Register("para Cpu.WriteCr0 is not implemented yet (issue C)");
#else
    public static void WriteCr0(ulong value) => PrivilegedInstructions.WriteCr0(value);
#endif

    /// <summary>Reads CR3 (the page-table root).</summary>
#if PARAVIRT_PARA
    public static ulong ReadCr3() => ParaOperations.Register("para Cpu.ReadCr3 is not implemented yet (issue C)");
#else
    public static ulong ReadCr3() => PrivilegedInstructions.ReadCr3();
#endif

    /// <summary>Writes CR3.</summary>
#if PARAVIRT_PARA
    public static void WriteCr3(ulong value) => ParaOperations.Register("para Cpu.WriteCr3 is not implemented yet (issue C)");
#else
    public static void WriteCr3(ulong value) => PrivilegedInstructions.WriteCr3(value);
#endif

    /// <summary>Reads CR4.</summary>
#if PARAVIRT_PARA
    public static ulong ReadCr4() => ParaOperations.Register("para Cpu.ReadCr4 is not implemented yet (issue C)");
#else
    public static ulong ReadCr4() => PrivilegedInstructions.ReadCr4();
#endif

    /// <summary>Writes CR4.</summary>
#if PARAVIRT_PARA
    public static void WriteCr4(ulong value) => ParaOperations.Register("para Cpu.WriteCr4 is not implemented yet (issue C)");
#else
    public static void WriteCr4(ulong value) => PrivilegedInstructions.WriteCr4(value);
#endif

    /// <summary>Reads model-specific register <paramref name="msr"/>.</summary>
#if PARAVIRT_PARA
    public static ulong ReadMsr(uint msr) => ParaOperations.Register("para Cpu.ReadMsr is not implemented yet (issue C)");
#else
    public static ulong ReadMsr(uint msr) => PrivilegedInstructions.ReadMsr(msr);
#endif

    /// <summary>Writes model-specific register <paramref name="msr"/>.</summary>
#if PARAVIRT_PARA
    public static void WriteMsr(uint msr, ulong value) => ParaOperations.Register("para Cpu.WriteMsr is not implemented yet (issue C)");
#else
    public static void WriteMsr(uint msr, ulong value) => PrivilegedInstructions.WriteMsr(msr, value);
#endif

    /// <summary>
    /// <c>cpuid</c>: EAX, EBX, ECX, EDX of <paramref name="leaf"/>/<paramref name="subleaf"/> at
    /// <paramref name="answer"/>[0..3]. The same instruction in both flavours: full mode has the host
    /// trap and emulate it (where the CPU lets it trap), para mode leaves it to the engine's
    /// in-kernel table, with no exit.
    /// </summary>
    public static void Cpuid(uint leaf, uint subleaf, uint* answer) => PrivilegedInstructions.Cpuid(leaf, subleaf, answer);

    /// <summary>The time-stamp counter (<c>rdtsc</c> is not privileged; the same in both flavours).</summary>
    public static ulong ReadTsc() => PrivilegedInstructions.ReadTsc();

    /// <summary>
    /// The current time in nanoseconds. Full flavour: the emulated PIT's free-running channel 2
    /// (<see cref="PitClock"/>: three port accesses, each an exit). Para flavour: the PV clock page
    /// (<see cref="PvClockReader"/>: rdtsc and a few loads, no exit).
    /// </summary>
    public static ulong NowNanoseconds()
    {
#if PARAVIRT_PARA
        return ParaOperations.NowNanoseconds();
#else
        return PitClock.Now();
#endif
    }

    /// <summary>A TSC frequency a guest may record for its own conversions; the SDK's clocks do not use it.</summary>
    public static ulong TscHz { get; set; }
}
