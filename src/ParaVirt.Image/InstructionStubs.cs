using System;
using System.Collections.Generic;
using System.IO;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Image;

/// <summary>
/// Machine-code stubs for the privileged instructions C# cannot express. A guest declares them as
/// extern methods bound to <c>__pv_insn_*</c> symbols (ParaVirt.Guest.PrivilegedInstructions);
/// ilc leaves those symbols undefined and <see cref="ElfLinker"/> places the stubs it needs in a
/// <c>.pvstubs</c> section. Each stub follows the System V convention (arguments in rdi, rsi, rdx;
/// result in rax) and is assembled with Iced.
/// </summary>
/// <example><code>
/// if (InstructionStubs.TryAssemble("__pv_insn_hlt", out byte[] code)) { /* f4 c3 */ }
/// </code></example>
public static class InstructionStubs
{
    /// <summary>The prefix of every stub symbol.</summary>
    public const string Prefix = "__pv_insn_";

    private static readonly Dictionary<string, Action<Assembler>> Stubs = new(StringComparer.Ordinal)
    {
        ["cli"] = a => a.cli(),
        ["sti"] = a => a.sti(),
        ["hlt"] = a => a.hlt(),
        ["inb"] = a => { a.mov(edx, edi); a.xor(eax, eax); a.@in(al, dx); },
        ["inw"] = a => { a.mov(edx, edi); a.xor(eax, eax); a.@in(ax, dx); },
        ["ind"] = a => { a.mov(edx, edi); a.@in(eax, dx); },
        ["outb"] = a => { a.mov(edx, edi); a.mov(eax, esi); a.@out(dx, al); },
        ["outw"] = a => { a.mov(edx, edi); a.mov(eax, esi); a.@out(dx, ax); },
        ["outd"] = a => { a.mov(edx, edi); a.mov(eax, esi); a.@out(dx, eax); },
        // (port, buffer, count): rep insw stores to [rdi], rep outsw loads from [rsi], rcx counts.
        ["rep_insw"] = a => { a.mov(eax, edi); a.mov(rdi, rsi); a.mov(rcx, rdx); a.mov(edx, eax); a.rep.insw(); },
        ["rep_outsw"] = a => { a.mov(eax, edi); a.mov(rcx, rdx); a.mov(edx, eax); a.rep.outsw(); },
        ["read_cr0"] = a => a.mov(rax, cr0),
        ["write_cr0"] = a => a.mov(cr0, rdi),
        ["read_cr2"] = a => a.mov(rax, cr2),
        ["read_cr3"] = a => a.mov(rax, cr3),
        ["invlpg"] = a => a.invlpg(__byte_ptr[rdi]),
        ["write_cr3"] = a => a.mov(cr3, rdi),
        ["read_cr4"] = a => a.mov(rax, cr4),
        ["write_cr4"] = a => a.mov(cr4, rdi),
        ["rdmsr"] = a => { a.mov(ecx, edi); a.rdmsr(); a.shl(rdx, 32); a.or(rax, rdx); },
        ["wrmsr"] = a => { a.mov(ecx, edi); a.mov(eax, esi); a.mov(rdx, rsi); a.shr(rdx, 32); a.wrmsr(); },
        ["rdtsc"] = a => { a.rdtsc(); a.shl(rdx, 32); a.or(rax, rdx); },
        // (leaf, subleaf, uint* answer): EAX, EBX, ECX, EDX stored at answer[0..3]; rbx is callee-saved.
        ["cpuid"] = a =>
        {
            a.push(rbx);
            a.mov(r8, rdx);
            a.mov(eax, edi);
            a.mov(ecx, esi);
            a.cpuid();
            a.mov(__dword_ptr[r8], eax);
            a.mov(__dword_ptr[r8 + 4], ebx);
            a.mov(__dword_ptr[r8 + 8], ecx);
            a.mov(__dword_ptr[r8 + 12], edx);
            a.pop(rbx);
        },
    };

    /// <summary>Every stub symbol the linker can provide.</summary>
    public static IEnumerable<string> SymbolNames
    {
        get
        {
            foreach (string name in Stubs.Keys)
                yield return Prefix + name;
        }
    }

    /// <summary>Assembles the stub for <paramref name="symbol"/>; false if it is not a known stub.</summary>
    public static bool TryAssemble(string symbol, out byte[] code)
    {
        code = [];
        if (!symbol.StartsWith(Prefix, StringComparison.Ordinal) || !Stubs.TryGetValue(symbol[Prefix.Length..], out Action<Assembler>? emit))
            return false;
        var assembler = new Assembler(64);
        emit(assembler);
        assembler.ret();
        using var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), 0); // position-independent: no RIP-relative operands
        code = stream.ToArray();
        return true;
    }
}
