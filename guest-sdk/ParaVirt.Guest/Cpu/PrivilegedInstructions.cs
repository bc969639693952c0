using System.Runtime;
using System.Runtime.CompilerServices;

namespace ParaVirt.Guest;

/// <summary>
/// The full-virtualization flavour: each method executes one privileged x86 instruction (at CPL3
/// it traps to the host, which emulates it). C# cannot emit these instructions, so each is an
/// extern symbol named <c>__pv_insn_*</c>; ilc leaves it undefined and the image builder links
/// a machine-code stub for it into the image's <c>.pvstubs</c> section (see docs/image-format.md).
/// Drivers should call <see cref="Cpu"/>, which picks this flavour or the para one per build.
/// </summary>
/// <example><code>
/// PrivilegedInstructions.OutByte(0x3F8, (byte)'A'); // out dx, al
/// </code></example>
public static unsafe class PrivilegedInstructions
{
    /// <summary><c>cli</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_cli")]
    public static extern void Cli();

    /// <summary><c>sti</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_sti")]
    public static extern void Sti();

    /// <summary><c>hlt</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_hlt")]
    public static extern void Hlt();

    /// <summary><c>in al, dx</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_inb")]
    public static extern byte InByte(ushort port);

    /// <summary><c>in ax, dx</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_inw")]
    public static extern ushort InWord(ushort port);

    /// <summary><c>in eax, dx</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_ind")]
    public static extern uint InDword(ushort port);

    /// <summary><c>out dx, al</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_outb")]
    public static extern void OutByte(ushort port, byte value);

    /// <summary><c>out dx, ax</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_outw")]
    public static extern void OutWord(ushort port, ushort value);

    /// <summary><c>out dx, eax</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_outd")]
    public static extern void OutDword(ushort port, uint value);

    /// <summary><c>rep insw</c>: reads <paramref name="count"/> 16-bit words from <paramref name="port"/> into <paramref name="buffer"/>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_rep_insw")]
    public static extern void RepInWords(ushort port, ushort* buffer, ulong count);

    /// <summary><c>rep outsw</c>: writes <paramref name="count"/> 16-bit words from <paramref name="buffer"/> to <paramref name="port"/>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_rep_outsw")]
    public static extern void RepOutWords(ushort port, ushort* buffer, ulong count);

    /// <summary><c>mov rax, cr0</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_read_cr0")]
    public static extern ulong ReadCr0();

    /// <summary><c>mov cr0, rdi</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_write_cr0")]
    public static extern void WriteCr0(ulong value);

    /// <summary><c>mov rax, cr2</c>: the address of the last page fault.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_read_cr2")]
    public static extern ulong ReadCr2();

    /// <summary><c>invlpg [address]</c>: drops the TLB entry of one page.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_invlpg")]
    public static extern void Invlpg(ulong address);

    /// <summary><c>mov rax, cr3</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_read_cr3")]
    public static extern ulong ReadCr3();

    /// <summary><c>mov cr3, rdi</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_write_cr3")]
    public static extern void WriteCr3(ulong value);

    /// <summary><c>mov rax, cr4</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_read_cr4")]
    public static extern ulong ReadCr4();

    /// <summary><c>mov cr4, rdi</c>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_write_cr4")]
    public static extern void WriteCr4(ulong value);

    /// <summary><c>rdmsr</c>: returns EDX:EAX as one value.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_rdmsr")]
    public static extern ulong ReadMsr(uint msr);

    /// <summary><c>wrmsr</c> with EDX:EAX = <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_wrmsr")]
    public static extern void WriteMsr(uint msr, ulong value);

    /// <summary>
    /// <c>cpuid</c> of <paramref name="leaf"/>/<paramref name="subleaf"/>; EAX, EBX, ECX, EDX are
    /// stored at <paramref name="answer"/>[0..3]. Not privileged: it traps only where the host
    /// turned CPUID faulting on and the CPU honours it at CPL3.
    /// </summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_cpuid")]
    public static extern void Cpuid(uint leaf, uint subleaf, uint* answer);

    /// <summary><c>rdtsc</c> (not privileged): the time-stamp counter.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_rdtsc")]
    public static extern ulong ReadTsc();
}
