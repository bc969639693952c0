namespace ParaVirt.Guest;

/// <summary>
/// Builds interrupt entry stubs: the host enters them with a hardware-style interrupt frame
/// (RIP, CS, RFLAGS, RSP, SS) on the guest stack. A stub saves the caller-saved registers and the
/// SSE state (C# code uses SSE), calls a C# handler with the vector in RDI, restores everything and
/// returns with a native <c>iretq</c>. The full flavour re-enables interrupts with <c>sti; iretq</c>
/// (one trap: the host emulates both, as the sti shadow covers the iretq); the para flavour unmasks
/// events with a store to the shared-info page (no exit).
/// </summary>
/// <example><code>
/// byte* stub = InterruptStubs.Build(0x20, &amp;OnInterrupt, unmaskAddress: 0);   // full flavour
/// </code></example>
public static unsafe class InterruptStubs
{
    /// <summary>Builds a stub for <paramref name="vector"/> calling <paramref name="handler"/>. With <paramref name="unmaskAddress"/> 0 it ends in <c>sti; iretq</c>, otherwise in <c>mov byte [unmaskAddress], 0; iretq</c>.</summary>
    public static byte* Build(uint vector, delegate* unmanaged<ulong, void> handler, ulong unmaskAddress)
    {
        byte* stub = CodeBuffer.Allocate(96);
        byte* p = stub;
        // push rbp; mov rbp,rsp; push rax,rcx,rdx,rsi,rdi,r8-r11; and rsp,-16; sub rsp,512; fxsave64 [rsp]
        p = CodeBuffer.Emit(p, [0x55, 0x48, 0x89, 0xE5, 0x50, 0x51, 0x52, 0x56, 0x57, 0x41, 0x50, 0x41, 0x51, 0x41, 0x52, 0x41, 0x53,
            0x48, 0x83, 0xE4, 0xF0, 0x48, 0x81, 0xEC, 0x00, 0x02, 0x00, 0x00, 0x48, 0x0F, 0xAE, 0x04, 0x24]);
        *p++ = 0xBF; // mov edi, vector
        p = CodeBuffer.Emit32(p, vector);
        *p++ = 0x48; *p++ = 0xB8; // mov rax, handler
        p = CodeBuffer.Emit64(p, (ulong)handler);
        *p++ = 0xFF; *p++ = 0xD0; // call rax
        // fxrstor64 [rsp]; lea rsp,[rbp-72]; pop r11-r8, rdi, rsi, rdx, rcx, rax; pop rbp
        p = CodeBuffer.Emit(p, [0x48, 0x0F, 0xAE, 0x0C, 0x24, 0x48, 0x8D, 0x65, 0xB8, 0x41, 0x5B, 0x41, 0x5A, 0x41, 0x59, 0x41, 0x58,
            0x5F, 0x5E, 0x5A, 0x59, 0x58, 0x5D]);
        if (unmaskAddress == 0)
        {
            p = CodeBuffer.Emit(p, [0xFB, 0x48, 0xCF]); // sti; iretq
        }
        else
        {
            p = CodeBuffer.Emit(p, [0xC6, 0x04, 0x25]); // mov byte [disp32], 0
            p = CodeBuffer.Emit32(p, (uint)unmaskAddress);
            p = CodeBuffer.Emit(p, [0x00, 0x48, 0xCF]); // ; iretq
        }
        return stub;
    }
}
