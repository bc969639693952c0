namespace ParaVirt.Guest;

/// <summary>
/// Builds the page-fault entry stub: it saves the caller-saved registers and the SSE state, calls a
/// C# handler with (faulting address, error code), restores everything and returns with a native
/// <c>iretq</c>. Full flavour: entered through the virtual IDT's vector 14 with the error code on
/// the stack; the address is read from CR2 (<c>mov rax, cr2</c>, trapped and emulated: the virtual
/// CR2). Para flavour: entered by the host with [RSP] = address, [RSP+8] = error code; before it
/// returns it clears <c>SharedInfo.InPageFault</c> (a store, no exit).
/// </summary>
public static unsafe class PageFaultStubs
{
    /// <summary>Builds the stub calling <paramref name="handler"/>; <paramref name="inPageFaultFlag"/> is the para flag's address (0 in the full flavour).</summary>
    public static byte* Build(delegate* unmanaged<ulong, ulong, void> handler, ulong inPageFaultFlag)
    {
        byte* stub = CodeBuffer.Allocate(128);
        byte* p = stub;
        // push rbp; mov rbp,rsp; push rax,rcx,rdx,rsi,rdi,r8-r11; and rsp,-16; sub rsp,512; fxsave64 [rsp]
        p = CodeBuffer.Emit(p, [0x55, 0x48, 0x89, 0xE5, 0x50, 0x51, 0x52, 0x56, 0x57, 0x41, 0x50, 0x41, 0x51, 0x41, 0x52, 0x41, 0x53,
            0x48, 0x83, 0xE4, 0xF0, 0x48, 0x81, 0xEC, 0x00, 0x02, 0x00, 0x00, 0x48, 0x0F, 0xAE, 0x04, 0x24]);
        if (inPageFaultFlag == 0)
        {
            // mov rax,cr2; mov rdi,rax; mov rsi,[rbp+8]
            p = CodeBuffer.Emit(p, [0x0F, 0x20, 0xD0, 0x48, 0x89, 0xC7, 0x48, 0x8B, 0x75, 0x08]);
        }
        else
        {
            // mov rdi,[rbp+8]; mov rsi,[rbp+16]
            p = CodeBuffer.Emit(p, [0x48, 0x8B, 0x7D, 0x08, 0x48, 0x8B, 0x75, 0x10]);
        }
        *p++ = 0x48; *p++ = 0xB8; // mov rax, handler
        p = CodeBuffer.Emit64(p, (ulong)handler);
        *p++ = 0xFF; *p++ = 0xD0; // call rax
        // fxrstor64 [rsp]; lea rsp,[rbp-72]; pop r11-r8, rdi, rsi, rdx, rcx, rax; pop rbp
        p = CodeBuffer.Emit(p, [0x48, 0x0F, 0xAE, 0x0C, 0x24, 0x48, 0x8D, 0x65, 0xB8, 0x41, 0x5B, 0x41, 0x5A, 0x41, 0x59, 0x41, 0x58,
            0x5F, 0x5E, 0x5A, 0x59, 0x58, 0x5D]);
        if (inPageFaultFlag == 0)
        {
            p = CodeBuffer.Emit(p, [0x48, 0x83, 0xC4, 0x08, 0x48, 0xCF]); // add rsp,8; iretq
        }
        else
        {
            p = CodeBuffer.Emit(p, [0x48, 0xC7, 0x04, 0x25]); // mov qword [disp32], 0
            p = CodeBuffer.Emit32(p, (uint)inPageFaultFlag);
            p = CodeBuffer.Emit(p, [0x00, 0x00, 0x00, 0x00, 0x48, 0x83, 0xC4, 0x10, 0x48, 0xCF]); // imm32 0; add rsp,16; iretq
        }
        return stub;
    }
}
