using System;
using System.IO;
using Iced.Intel;
using ParaVirt.Abi;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Platform;

/// <summary>
/// The only code that runs at ring 0 in a ParaVirt VM, generated with Iced's assembler. Each IDT
/// vector enters a stub that pushes an error code (a zero where the CPU pushes none) and the vector,
/// then the common tail writes to the trap port (an exit to the host, which reads the frame from the
/// ring-0 stack, handles the trap, and may rewrite the frame) and returns to the guest with iretq.
/// Also generates the hypercall page the guest calls through.
/// </summary>
internal static class Trampolines
{
    private static readonly Lazy<(byte[] Code, ulong[] Entries, ulong ExitRip, ulong ResumeRip, ulong IretRip, ulong TableWriteRip)> s_trampolines = new(AssembleTrampolines);
    private static readonly Lazy<byte[]> s_hypercallPage = new(AssembleHypercallPage);

    /// <summary>The trampoline page's bytes (at <see cref="KvmPlatform.Trampolines"/>).</summary>
    public static ReadOnlySpan<byte> Code => s_trampolines.Value.Code;

    /// <summary>The entry address of each of the 256 vectors.</summary>
    public static ReadOnlySpan<ulong> Entries => s_trampolines.Value.Entries;

    /// <summary>The common tail's <c>out</c> to the trap port; every stub jumps here with RSP at <see cref="KvmPlatform.TrapFrame"/>.</summary>
    public static ulong ExitRip => s_trampolines.Value.ExitRip;

    /// <summary>The instruction after the trap-port <c>out</c> (<c>add rsp, 16</c>, RSP at <see cref="KvmPlatform.TrapFrame"/>).</summary>
    public static ulong ResumeRip => s_trampolines.Value.ResumeRip;

    /// <summary>The tail's <c>iretq</c> (RSP at <see cref="KvmPlatform.TrapFrame"/> + 16, the CPU's frame).</summary>
    public static ulong IretRip => s_trampolines.Value.IretRip;

    /// <summary>
    /// The ring-0 table-write path, entered with RSP at the CPU's frame (<see cref="KvmPlatform.TrapFrame"/> + 16):
    /// for each table page listed at <see cref="KvmPlatform.TableWriteList"/> (a count, then addresses) it
    /// rewrites byte 1 with its own value, then returns to the guest with iretq. The host wrote the
    /// tables through its own mapping; a store made by the vCPU is what the outer KVM, which shadows
    /// the guest's tables, notices (a sub-word write to a shadowed table zaps its shadow page), so
    /// the next walk reads the tables as they are now. Preserves every general register.
    /// </summary>
    public static ulong TableWriteRip => s_trampolines.Value.TableWriteRip;

    /// <summary>One past the last trampoline byte.</summary>
    public static ulong End => KvmPlatform.Trampolines + (ulong)s_trampolines.Value.Code.Length;

    /// <summary>The hypercall page's bytes (at <see cref="KvmPlatform.HypercallPage"/>).</summary>
    public static ReadOnlySpan<byte> HypercallPageCode => s_hypercallPage.Value;

    private static (byte[], ulong[], ulong, ulong, ulong, ulong) AssembleTrampolines()
    {
        var a = new Assembler(64);
        Label common = a.CreateLabel("common");
        Label resume = a.CreateLabel("resume");
        Label iret = a.CreateLabel("iret");
        var labels = new Label[256];
        for (int vector = 0; vector < 256; vector++)
        {
            labels[vector] = a.CreateLabel($"vector{vector}");
            a.Label(ref labels[vector]);
            if (!ParaVirt.Core.Cpu.ExceptionVectors.HasErrorCode((byte)vector) || vector >= 32)
                a.push(0);
            a.push(vector < 128 ? vector : vector - 256); // sign-extended imm8; the host masks to a byte
            a.jmp(common);
        }
        a.Label(ref common);
        a.@out((byte)PlatformPorts.Trap, al);   // exit: the host reads and may rewrite the frame at RSP
        a.Label(ref resume);
        a.add(rsp, 16);                   // drop vector and error code
        a.Label(ref iret);
        a.iretq();

        // The table-write path (see TableWriteRip).
        Label tableWrite = a.CreateLabel("tableWrite");
        Label loop = a.CreateLabel("loop");
        Label done = a.CreateLabel("done");
        a.Label(ref tableWrite);
        a.push(rax);
        a.push(rcx);
        a.push(rdx);
        a.push(rdi);
        a.mov(rdi, KvmPlatform.TableWriteList);
        a.mov(rcx, __qword_ptr[rdi]);
        a.Label(ref loop);
        a.test(rcx, rcx);
        a.jz(done);
        a.add(rdi, 8);
        a.mov(rdx, __qword_ptr[rdi]);
        a.mov(al, __byte_ptr[rdx + 1]);
        a.mov(__byte_ptr[rdx + 1], al);
        a.dec(rcx);
        a.jmp(loop);
        a.Label(ref done);
        a.pop(rdi);
        a.pop(rdx);
        a.pop(rcx);
        a.pop(rax);
        a.iretq();

        var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), KvmPlatform.Trampolines, BlockEncoderOptions.ReturnNewInstructionOffsets);
        byte[] code = stream.ToArray();
        if (code.Length > 4096)
            throw new InvalidOperationException($"trampolines take {code.Length} bytes, more than a page");
        var entries = new ulong[256];
        for (int vector = 0; vector < 256; vector++)
            entries[vector] = result.GetLabelRIP(labels[vector]);
        return (code, entries, result.GetLabelRIP(common), result.GetLabelRIP(resume), result.GetLabelRIP(iret), result.GetLabelRIP(tableWrite));
    }

    private static byte[] AssembleHypercallPage()
    {
        var page = new byte[4096];
        page.AsSpan().Fill(0xCC); // int3 between stubs
        for (uint number = 0; number < HypercallPage.StubCount; number++)
        {
            var a = new Assembler(64);
            if (number * HypercallPage.StubSize == HypercallPage.ExitStubOffset)
            {
                // Return from the entry point: shutdown(rax), never returns.
                a.mov(rdi, rax);
                a.xor(esi, esi);
                a.xor(edx, edx);
                a.mov(eax, (uint)Hypercall.Shutdown);
                a.@out((byte)PlatformPorts.Hypercall, al);
                a.ud2();
            }
            else
            {
                a.mov(r10, rcx);                 // System V's 4th argument to the ABI's R10
                a.mov(eax, number);
                a.@out((byte)PlatformPorts.Hypercall, al);
                a.ret();
            }
            var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), KvmPlatform.HypercallPage + number * HypercallPage.StubSize);
            byte[] stub = stream.ToArray();
            if (stub.Length > HypercallPage.StubSize)
                throw new InvalidOperationException($"hypercall stub {number} is {stub.Length} bytes");
            stub.CopyTo(page, (int)(number * HypercallPage.StubSize));
        }
        return page;
    }
}
