using System;
using Iced.Intel;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Cpu.Shadow;

namespace ParaVirt.Cpu.Emulation;

/// <summary>Full mode's memory virtualization in the trap path: #PF exits, CR3 loads, invlpg and stores into shadowed guest tables.</summary>
public sealed partial class TrapEmulator
{
    /// <summary>Reflected page faults that may be live on the guest's stack at once: one more is a double fault.</summary>
    public const int MaxNestedPageFaults = 3;

    /// <summary>Times the same instruction may be retried after its page table was unprotected, or after a spurious fault, before the VM is stopped.</summary>
    public const int MaxRetriesAtOneInstruction = 8;

    /// <summary>Elements of a <c>rep stos</c> into a shadowed table emulated per exit at most (the rest of the page; the instruction then continues).</summary>
    private const int PageSize = 4096;

    private ShadowMmu? _shadow;
    private readonly ulong[] _pageFaultFrames = new ulong[MaxNestedPageFaults];
    private int _pageFaultDepth;
    private ulong _retryRip;
    private int _retries;

    /// <summary>The shadow MMU (full mode with guest page tables), or null: the guest then runs on the platform's identity map only.</summary>
    public ShadowMmu? Shadow => _shadow;

    /// <summary>Guest stores into shadowed page tables that were emulated.</summary>
    public long TableWritesEmulated { get; private set; }

    /// <summary>Guest stores into shadowed page tables the emulator could not decode: the table was unprotected and the store re-run natively.</summary>
    public long TableWritesUnprotected { get; private set; }

    /// <summary>Page faults reflected into the guest's #PF handler.</summary>
    public long PageFaultsReflected { get; private set; }

    /// <summary>Attaches <paramref name="shadow"/>: from now on CR3 loads switch shadow roots and #PF exits go through it.</summary>
    /// <exception cref="InvalidOperationException">A shadow MMU is already attached.</exception>
    public void AttachShadowMmu(ShadowMmu shadow)
    {
        ArgumentNullException.ThrowIfNull(shadow);
        if (_shadow is not null)
            throw new InvalidOperationException("a shadow MMU is already attached");
        _shadow = shadow;
    }

    private bool HandlePageFault(VirtualMachine vm, in VcpuExit exit, ref Registers r, out string? stopMessage)
    {
        stopMessage = null;
        ShadowMmu? mmu = _shadow;
        if (mmu is null)
        {
            _cpu.State.Cr2 = exit.Address;
            return Reflect(vm, ref r, (byte)ExceptionVector.PageFault, exit.ErrorCode, "an exception", out stopMessage);
        }
        ShadowFaultKind kind = mmu.HandlePageFault(exit.Address, exit.ErrorCode, out uint guestCode, out ulong physical);
        bool result;
        switch (kind)
        {
            case ShadowFaultKind.Filled:
                _retries = 0;
                result = true; // resume at the same instruction
                break;
            case ShadowFaultKind.Spurious:
                result = CountRetry(r.Rip, exit.Address, "a page fault on a translation the shadow already grants keeps recurring", out stopMessage);
                break;
            case ShadowFaultKind.Reflect:
                result = ReflectPageFault(vm, ref r, exit.Address, guestCode, out stopMessage);
                break;
            case ShadowFaultKind.NotShadowed:
                result = ReflectPageFault(vm, ref r, exit.Address, exit.ErrorCode, out stopMessage);
                break;
            case ShadowFaultKind.EmulateWrite:
                result = EmulateTableWrite(vm, in exit, ref r, physical, out stopMessage);
                break;
            default:
                stopMessage = $"shadow paging failed at RIP 0x{r.Rip:x} (address 0x{exit.Address:x}): {mmu.FailureReason}";
                return false;
        }
        return result && CheckPublished(mmu, ref stopMessage);
    }

    /// <summary>A shadow change the engine could not publish may leave a stale translation: the VM stops.</summary>
    private static bool CheckPublished(ShadowMmu mmu, ref string? stopMessage)
    {
        if (!mmu.TakeNoteFailure())
            return true;
        stopMessage = "one exit changed more shadow page-table pages than the engine can publish before the next entry; stopped rather than risk a stale translation";
        return false;
    }

    private bool CountRetry(ulong rip, ulong address, string what, out string? stopMessage)
    {
        stopMessage = null;
        if (rip != _retryRip)
        {
            _retryRip = rip;
            _retries = 0;
        }
        if (++_retries <= MaxRetriesAtOneInstruction)
            return true;
        stopMessage = $"{what} at RIP 0x{rip:x} (address 0x{address:x}) after {MaxRetriesAtOneInstruction} retries";
        return false;
    }

    /// <summary>
    /// Reflects #PF with CR2 = <paramref name="address"/>. A fault raised while
    /// <see cref="MaxNestedPageFaults"/> earlier reflected #PF frames are still on the guest's
    /// stack (a #PF handler that faults again, and again) is a double fault: the VM stops with the
    /// reason instead of nesting frames until the stack runs out.
    /// </summary>
    private bool ReflectPageFault(VirtualMachine vm, ref Registers r, ulong address, uint errorCode, out string? stopMessage)
    {
        // Frames the guest has returned from lie below its RSP now: forget them.
        while (_pageFaultDepth > 0 && r.Rsp > _pageFaultFrames[_pageFaultDepth - 1])
            _pageFaultDepth--;
        if (_pageFaultDepth == MaxNestedPageFaults)
        {
            stopMessage = $"double fault: a page fault at RIP 0x{r.Rip:x} (address 0x{address:x}, error 0x{errorCode:x}) while {MaxNestedPageFaults} page faults were still being handled (the #PF handler faults again)";
            return false;
        }
        _cpu.State.Cr2 = address;
        if (!TryReflect(vm, ref r, (byte)ExceptionVector.PageFault, errorCode, out stopMessage))
        {
            stopMessage ??= $"unhandled #PF(0x{errorCode:x}) at RIP 0x{r.Rip:x} for address 0x{address:x}, and the guest has no virtual IDT gate for it (or its stack cannot take the frame)";
            return false;
        }
        _pageFaultFrames[_pageFaultDepth++] = r.Rsp;
        PageFaultsReflected++;
        return true;
    }

    /// <summary>Emulates <c>mov cr3</c>: the shadow root switches; a refused value raises #GP.</summary>
    private bool LoadCr3(VirtualMachine vm, ref Registers r, ulong value, ulong next, out string? stopMessage)
    {
        stopMessage = null;
        ShadowMmu mmu = _shadow!;
        if (!mmu.TryLoadCr3(value, out bool refused))
        {
            if (refused)
                return Reflect(vm, ref r, (byte)ExceptionVector.GeneralProtection, 0, $"mov cr3 with 0x{value:x} (not a page-aligned frame of guest RAM)", out stopMessage);
            stopMessage = $"mov cr3 with 0x{value:x} at RIP 0x{r.Rip:x}: {mmu.FailureReason}";
            return false;
        }
        _cpu.State.Cr3 = value;
        r.Rip = next;
        return CheckPublished(mmu, ref stopMessage);
    }

    /// <summary>Emulates <c>invlpg</c>: drops the page's shadow entry.</summary>
    private bool Invalidate(ulong address, out string? stopMessage)
    {
        stopMessage = null;
        if (_shadow is not { } mmu)
            return true;
        mmu.InvalidatePage(address);
        return CheckPublished(mmu, ref stopMessage);
    }

    /// <summary>
    /// A store into a shadowed guest table: decode it, perform it on guest memory at
    /// <paramref name="physical"/> (inside one page of guest RAM), bring the shadow in line and
    /// resume after it. A store this emulator does not know is re-run natively once its table is
    /// unprotected (the shadow of that table is dropped).
    /// </summary>
    private bool EmulateTableWrite(VirtualMachine vm, in VcpuExit exit, ref Registers r, ulong physical, out string? stopMessage)
    {
        stopMessage = null;
        ShadowMmu mmu = _shadow!;
        int available = Fetch(vm, r.Rip);
        if (available == 0)
        {
            stopMessage = $"#PF at RIP 0x{r.Rip:x}: a store into a page table from code outside guest memory";
            return false;
        }
        _reader.Reset(available);
        _decoder.IP = r.Rip;
        _decoder.Decode(out Instruction insn);
        ulong next = r.Rip + (ulong)insn.Length;
        int offset = (int)(physical & 0xFFF);
        if (!insn.IsInvalid && insn.SegmentPrefix is not (Register.FS or Register.GS) &&
            TryEmulateStore(vm, in insn, ref r, exit.Address, physical, offset, next, out int written))
        {
            TableWritesEmulated++;
            _retries = 0;
            mmu.OnGuestWrite(physical, written);
            return true;
        }
        TableWritesUnprotected++;
        if (!mmu.TryUnprotect(physical & ~0xFFFUL))
        {
            stopMessage = $"'{insn}' at RIP 0x{r.Rip:x} stores into the guest's current PML4 (0x{physical & ~0xFFFUL:x}) in a way the shadow MMU does not emulate";
            return false;
        }
        return CountRetry(r.Rip, exit.Address, $"'{insn}' keeps faulting on a page table it stores into", out stopMessage);
    }

    private bool TryEmulateStore(VirtualMachine vm, in Instruction insn, ref Registers r, ulong faultAddress, ulong physical, int offset, ulong next, out int written)
    {
        written = 0;
        bool isString = insn.Code is Code.Stosb_m8_AL or Code.Stosw_m16_AX or Code.Stosd_m32_EAX or Code.Stosq_m64_RAX;
        if (insn.Op0Kind != OpKind.Memory && !isString)
            return false;
        int size = insn.MemorySize.GetSize();
        if (size is not (1 or 2 or 4 or 8) || offset + size > PageSize)
            return false;
        // The store must be the access that faulted, on the page the MMU translated.
        ulong target = isString ? r.Rdi : EffectiveAddress(in insn, ref r);
        if ((target & ~0xFFFUL) != (faultAddress & ~0xFFFUL) || (target & 0xFFF) != (ulong)offset)
            return false;
        ulong mask = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
        switch (insn.Code)
        {
            case Code.Mov_rm8_r8:
            case Code.Mov_rm16_r16:
            case Code.Mov_rm32_r32:
            case Code.Mov_rm64_r64:
                if (!Store(vm, physical, size, RegisterValue(ref r, insn.Op1Register)))
                    return false;
                break;
            case Code.Mov_rm8_imm8:
            case Code.Mov_rm16_imm16:
            case Code.Mov_rm32_imm32:
            case Code.Mov_rm64_imm32:
                if (!Store(vm, physical, size, insn.GetImmediate(1)))
                    return false;
                break;
            case Code.Xchg_rm32_r32:
            case Code.Xchg_rm64_r64:
            {
                if (!Load(vm, physical, size, out ulong old) || !Store(vm, physical, size, RegisterValue(ref r, insn.Op1Register)))
                    return false;
                Gpr(ref r, insn.Op1Register) = old; // a 32-bit destination zero-extends
                break;
            }
            case Code.Cmpxchg_rm32_r32:
            case Code.Cmpxchg_rm64_r64:
            {
                if (!Load(vm, physical, size, out ulong old))
                    return false;
                ulong accumulator = r.Rax & mask;
                bool equal = accumulator == old;
                if (equal)
                {
                    if (!Store(vm, physical, size, RegisterValue(ref r, insn.Op1Register)))
                        return false;
                }
                else
                {
                    r.Rax = old; // a 32-bit accumulator zero-extends
                }
                SetSubtractFlags(ref r, accumulator, old, size);
                if (!equal)
                {
                    r.Rip = next;
                    return true; // nothing was written
                }
                break;
            }
            case Code.And_rm32_r32:
            case Code.And_rm64_r64:
            case Code.Or_rm32_r32:
            case Code.Or_rm64_r64:
            case Code.And_rm32_imm8:
            case Code.And_rm64_imm8:
            case Code.And_rm32_imm32:
            case Code.And_rm64_imm32:
            case Code.Or_rm32_imm8:
            case Code.Or_rm64_imm8:
            case Code.Or_rm32_imm32:
            case Code.Or_rm64_imm32:
            {
                if (!Load(vm, physical, size, out ulong old))
                    return false;
                ulong operand = (insn.Op1Kind == OpKind.Register ? RegisterValue(ref r, insn.Op1Register) : insn.GetImmediate(1)) & mask;
                bool and = insn.Mnemonic == Mnemonic.And;
                ulong result = (and ? old & operand : old | operand) & mask;
                if (!Store(vm, physical, size, result))
                    return false;
                SetLogicFlags(ref r, result, size);
                break;
            }
            case Code.Stosb_m8_AL:
            case Code.Stosw_m16_AX:
            case Code.Stosd_m32_EAX:
            case Code.Stosq_m64_RAX:
            {
                if ((r.Rflags & (1UL << 10)) != 0 || insn.HasRepnePrefix)
                    return false; // backwards stores: rare enough to run natively
                bool rep = insn.HasRepPrefix;
                ulong count = rep ? r.Rcx : 1;
                if (count == 0)
                {
                    r.Rip = next;
                    return true;
                }
                ulong room = (ulong)((PageSize - offset) / size);
                ulong n = Math.Min(count, room);
                if (n == 0)
                    return false;
                for (ulong i = 0; i < n; i++)
                    if (!Store(vm, physical + i * (ulong)size, size, r.Rax))
                        return false;
                r.Rdi += n * (ulong)size;
                if (rep)
                    r.Rcx -= n;
                written = (int)(n * (ulong)size);
                if (!rep || r.Rcx == 0)
                    r.Rip = next; // otherwise the instruction continues (natively, or at the next fault)
                return true;
            }
            default:
                return false;
        }
        written = size;
        r.Rip = next;
        return true;
    }

    private static bool Store(VirtualMachine vm, ulong physical, int size, ulong value)
    {
        switch (size)
        {
            case 1: return vm.WritableMemory.TryWrite(physical, (byte)value);
            case 2: return vm.WritableMemory.TryWrite(physical, (ushort)value);
            case 4: return vm.WritableMemory.TryWrite(physical, (uint)value);
            default: return vm.WritableMemory.TryWrite(physical, value);
        }
    }

    private static bool Load(VirtualMachine vm, ulong physical, int size, out ulong value)
    {
        value = 0;
        switch (size)
        {
            case 4:
                if (!vm.WritableMemory.TryRead(physical, out uint v32))
                    return false;
                value = v32;
                return true;
            case 8:
                return vm.WritableMemory.TryRead(physical, out value);
            default:
                return false;
        }
    }

    /// <summary>The value of a register operand (the high-byte registers AH..BH included).</summary>
    private static ulong RegisterValue(ref Registers r, Register register) => register switch
    {
        Register.AH => (r.Rax >> 8) & 0xFF,
        Register.CH => (r.Rcx >> 8) & 0xFF,
        Register.DH => (r.Rdx >> 8) & 0xFF,
        Register.BH => (r.Rbx >> 8) & 0xFF,
        _ => Gpr(ref r, register),
    };

    private const ulong ArithmeticFlags = 0x8D5; // CF PF AF ZF SF OF

    private static void SetSubtractFlags(ref Registers r, ulong left, ulong right, int size)
    {
        int bits = size * 8;
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        ulong result = (left - right) & mask;
        ulong sign = 1UL << (bits - 1);
        ulong flags = 0;
        if (left < right) flags |= 1;                                       // CF
        if (ParityEven((byte)result)) flags |= 4;                           // PF
        if (((left ^ right ^ result) & 0x10) != 0) flags |= 0x10;           // AF
        if (result == 0) flags |= 0x40;                                     // ZF
        if ((result & sign) != 0) flags |= 0x80;                            // SF
        if (((left ^ right) & (left ^ result) & sign) != 0) flags |= 0x800; // OF
        r.Rflags = (r.Rflags & ~ArithmeticFlags) | flags;
    }

    private static void SetLogicFlags(ref Registers r, ulong result, int size)
    {
        ulong sign = 1UL << (size * 8 - 1);
        ulong flags = 0;
        if (ParityEven((byte)result)) flags |= 4;
        if (result == 0) flags |= 0x40;
        if ((result & sign) != 0) flags |= 0x80;
        r.Rflags = (r.Rflags & ~ArithmeticFlags) | flags; // CF and OF clear, AF undefined (clear)
    }

    private static bool ParityEven(byte value) => (System.Numerics.BitOperations.PopCount(value) & 1) == 0;
}
