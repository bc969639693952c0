using System.Runtime.InteropServices;

#pragma warning disable CS1591 // register and vector names are their own documentation

namespace ParaVirt.Core.Cpu;

/// <summary>
/// The general-purpose registers of a vCPU. Laid out exactly as Linux's <c>struct kvm_regs</c>
/// (18 × 8 bytes) so the KVM engine can hand out a reference into <c>kvm_run-&gt;s.regs</c> with no
/// copy; a test pins the offsets.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct Registers
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
    public ulong R8, R9, R10, R11, R12, R13, R14, R15;
    public ulong Rip, Rflags;

    /// <summary>RFLAGS.IF, the interrupt flag.</summary>
    public const ulong InterruptFlag = 1UL << 9;

    /// <summary>RFLAGS bit 1, which always reads as one.</summary>
    public const ulong ReservedOne = 1UL << 1;
}
