using System;
using Iced.Intel;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Cpu.Interrupts;

namespace ParaVirt.Cpu.Emulation;

/// <summary>
/// Trap-and-emulate for full virtualization: decodes the instruction at the faulting RIP with
/// Iced and emulates it against the <see cref="VirtualCpuState"/>, the <see cref="MsrFile"/> and
/// the port bus, then resumes after it. Exceptions it does not emulate are reflected into the
/// guest through its virtual IDT, or stop the VM with the instruction named.
/// </summary>
/// <remarks>
/// Emulated: cli, sti (and an iretq right after it, which the sti shadow covers), hlt, mov to and
/// from CR0/CR2/CR3/CR4, rdmsr/wrmsr, in/out/ins/outs on ports the I/O bitmap denies, invlpg,
/// lidt/lgdt, cpuid (when CPUID faulting is on). With a shadow MMU attached (<see cref="AttachShadowMmu"/>),
/// CR3 loads switch shadow roots, invlpg drops a shadow entry, and #PF exits are resolved (hidden
/// faults), reflected with a virtual CR2, or are stores into shadowed guest tables, which are
/// emulated (docs/memory-virtualization.md). Decoding reuses one decoder and one 15-byte buffer: nothing is allocated per trap
/// (strings are made only on stop paths).
/// </remarks>
/// <example><code>
/// using Machine machine = MachineBuilder.Create().WithMode(VirtualizationMode.Full).WithImage(image).Build(); // installs the emulator
/// machine.Run();
/// long clis = vm.Exits.TrapsByInstruction(TrapInstruction.Cli);
/// </code></example>
public sealed partial class TrapEmulator : ITrapHandler
{
    private const int MaxStringIoPerTrap = 1 << 16;
    private static ulong s_discard;

    private readonly VirtualCpu _cpu;
    private readonly TrapCodeReader _reader = new();
    private readonly Decoder _decoder;
    private readonly CpuidEmulator _cpuid = new();

    internal TrapEmulator(VirtualCpu cpu)
    {
        _cpu = cpu;
        _decoder = Decoder.Create(64, _reader);
    }

    /// <summary>Traps the emulator could not decode (bytes at RIP invalid or unreadable).</summary>
    public long Undecodable { get; private set; }

    /// <summary>Exceptions reflected into the guest's virtual IDT.</summary>
    public long Reflected { get; private set; }

    /// <inheritdoc/>
    public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers r, out string? stopMessage)
    {
        stopMessage = null;
        _cpu.LeftGuest();
        byte vector = exit.Vector;
        if (vector == (byte)ExceptionVector.PageFault)
            return HandlePageFault(vm, in exit, ref r, out stopMessage);
        if (vector is not ((byte)ExceptionVector.GeneralProtection or (byte)ExceptionVector.InvalidOpcode))
            return Reflect(vm, ref r, vector, exit.ErrorCode, "an exception", out stopMessage);

        int available = Fetch(vm, r.Rip);
        if (available == 0)
        {
            Undecodable++;
            stopMessage = $"{ExceptionVectors.Mnemonic(vector)} at RIP 0x{r.Rip:x}: the trap RIP is outside guest memory";
            return false;
        }
        _reader.Reset(available);
        _decoder.IP = r.Rip;
        _decoder.Decode(out Instruction insn);
        if (insn.IsInvalid)
        {
            Undecodable++;
            if (HasGate(vm, vector))
                return Reflect(vm, ref r, vector, exit.ErrorCode, "undecodable bytes", out stopMessage);
            stopMessage = $"unhandled {ExceptionVectors.Mnemonic(vector)} at RIP 0x{r.Rip:x}: undecodable bytes {Convert.ToHexString(_reader.Buffer, 0, available)}";
            return false;
        }
        ulong next = r.Rip + (ulong)insn.Length;
        VirtualCpuState s = _cpu.State;
        switch (insn.Code)
        {
            case Code.Cli:
                vm.Exits.CountInstruction(TrapInstruction.Cli);
                s.InterruptsEnabled = false;
                r.Rip = next;
                return true;
            case Code.Sti:
                vm.Exits.CountInstruction(TrapInstruction.Sti);
                s.InterruptsEnabled = true;
                r.Rip = next;
                if (!TryEmulateIretAfterSti(vm, ref r))
                {
                    s.InterruptShadow = true; // sti; hlt must not lose a wake-up to an interrupt in between
                    s.ShadowRip = r.Rip;
                }
                return true;
            case Code.Hlt:
                vm.Exits.CountInstruction(TrapInstruction.Hlt);
                r.Rip = next;
                return Halt(vm, ref r, out stopMessage);
            case Code.Mov_r64_cr:
                vm.Exits.CountInstruction(TrapInstruction.MovFromCr);
                if (!TryReadCr(insn.Op1Register, out ulong crValue))
                    return Reflect(vm, ref r, vector, exit.ErrorCode, insn, out stopMessage);
                Gpr(ref r, insn.Op0Register) = crValue;
                r.Rip = next;
                return true;
            case Code.Mov_cr_r64:
                vm.Exits.CountInstruction(TrapInstruction.MovToCr);
                if (insn.Op0Register == Register.CR3 && _shadow is not null)
                    return LoadCr3(vm, ref r, Gpr(ref r, insn.Op1Register), next, out stopMessage);
                if (!TryWriteCr(insn.Op0Register, Gpr(ref r, insn.Op1Register)))
                    return Reflect(vm, ref r, vector, exit.ErrorCode, insn, out stopMessage);
                r.Rip = next;
                return true;
            case Code.Rdmsr:
                vm.Exits.CountInstruction(TrapInstruction.Rdmsr);
                if (!_cpu.Msrs.TryRead((uint)r.Rcx, out ulong msr))
                    return Reflect(vm, ref r, (byte)ExceptionVector.GeneralProtection, 0, insn, out stopMessage);
                r.Rax = (uint)msr;
                r.Rdx = msr >> 32;
                r.Rip = next;
                return true;
            case Code.Wrmsr:
                vm.Exits.CountInstruction(TrapInstruction.Wrmsr);
                if (!_cpu.Msrs.TryWrite((uint)r.Rcx, ((r.Rdx & 0xFFFF_FFFF) << 32) | (r.Rax & 0xFFFF_FFFF)))
                    return Reflect(vm, ref r, (byte)ExceptionVector.GeneralProtection, 0, insn, out stopMessage);
                r.Rip = next;
                return true;
            case Code.Cpuid:
            {
                vm.Exits.CountInstruction(TrapInstruction.Cpuid);
                var (eax, ebx, ecx, edx) = _cpuid.Query((uint)r.Rax, (uint)r.Rcx);
                r.Rax = eax;
                r.Rbx = ebx;
                r.Rcx = ecx;
                r.Rdx = edx;
                r.Rip = next;
                return true;
            }
            case Code.Invlpg_m:
                vm.Exits.CountInstruction(TrapInstruction.Invlpg);
                r.Rip = next; // without a shadow MMU the tables are the host's identity map: nothing to flush
                return Invalidate(EffectiveAddress(in insn, ref r), out stopMessage);
            case Code.Lidt_m1664:
            case Code.Lgdt_m1664:
            {
                bool idt = insn.Code == Code.Lidt_m1664;
                vm.Exits.CountInstruction(idt ? TrapInstruction.Lidt : TrapInstruction.Lgdt);
                ulong address = EffectiveAddress(in insn, ref r);
                if (!vm.Memory.TryRead(address, out ushort limit) || !vm.Memory.TryRead(address + 2, out ulong baseAddress) || address + 10 < address)
                    return Reflect(vm, ref r, (byte)ExceptionVector.GeneralProtection, 0, insn, out stopMessage);
                if (idt)
                {
                    s.IdtBase = baseAddress;
                    s.IdtLimit = limit;
                    s.IdtLoaded = true;
                }
                else
                {
                    s.GdtBase = baseAddress;
                    s.GdtLimit = limit;
                }
                r.Rip = next;
                return true;
            }
            default:
                if (TryEmulatePortIo(vm, in insn, ref r, out bool handled, out bool fault))
                {
                    if (fault)
                        return Reflect(vm, ref r, (byte)ExceptionVector.GeneralProtection, 0, insn, out stopMessage);
                    if (handled)
                        r.Rip = next;
                    return true;
                }
                return Reflect(vm, ref r, vector, exit.ErrorCode, insn, out stopMessage);
        }
    }

    private int Fetch(VirtualMachine vm, ulong rip)
    {
        byte[] buffer = _reader.Buffer;
        for (int length = TrapCodeReader.MaxLength; length > 0; length--)
            if (rip + (ulong)length > rip && vm.Memory.TryRead(rip, buffer.AsSpan(0, length)))
                return length;
        return 0;
    }

    /// <summary>sti; iretq: the shadow covers the iretq, so emulate both and land in the interrupted context.</summary>
    private bool TryEmulateIretAfterSti(VirtualMachine vm, ref Registers r)
    {
        Span<byte> op = stackalloc byte[2];
        if (!vm.Memory.TryRead(r.Rip, op) || op[0] != 0x48 || op[1] != 0xCF)
            return false;
        Span<ulong> frame = stackalloc ulong[5];
        if (!vm.Memory.TryRead(r.Rsp, System.Runtime.InteropServices.MemoryMarshal.AsBytes(frame)))
            return false;
        // Only a same-privilege return to the guest's own selectors and a canonical RIP and RSP;
        // anything else runs natively, where the CPU raises its #GP at CPL3.
        if (frame[1] != InterruptFrame.UserCode || frame[4] != InterruptFrame.UserData ||
            !VirtualMachine.IsCanonical(frame[0]) || !VirtualMachine.IsCanonical(frame[3]))
            return false;
        vm.Exits.CountInstruction(TrapInstruction.Iretq);
        r.Rip = frame[0];
        const ulong Arithmetic = 0xCD5 | (1UL << 8) | (1UL << 18); // CF PF AF ZF SF DF OF, TF, AC
        r.Rflags = (r.Rflags & ~Arithmetic) | (frame[2] & Arithmetic);
        r.Rsp = frame[3];
        _cpu.State.InterruptsEnabled = (frame[2] & Registers.InterruptFlag) != 0;
        return true;
    }

    private bool Halt(VirtualMachine vm, ref Registers r, out string? stopMessage)
    {
        stopMessage = null;
        while (true)
        {
            _cpu.PollTimers(_cpu.NowNanoseconds);
            if (_cpu.PendingLines != 0 && _cpu.State.InterruptsEnabled)
                return true; // delivered before the guest resumes
            if (vm.IsStopping)
                return true;
            if (!_cpu.State.InterruptsEnabled)
            {
                stopMessage = $"hlt at RIP 0x{r.Rip - 1:x} with interrupts disabled (virtual IF clear): nothing can wake the vCPU";
                return false;
            }
            if (!_cpu.HasWakeSource())
            {
                if (_cpu.PendingLines != 0)
                    continue;
                stopMessage = $"hlt at RIP 0x{r.Rip - 1:x} with interrupts enabled but no timer armed and no event source: nothing can wake the vCPU";
                return false;
            }
            _cpu.Wait(_cpu.NextDeadline());
        }
    }

    private bool TryReadCr(Register cr, out ulong value)
    {
        VirtualCpuState s = _cpu.State;
        value = cr switch { Register.CR0 => s.Cr0, Register.CR2 => s.Cr2, Register.CR3 => s.Cr3, Register.CR4 => s.Cr4, _ => 0 };
        return cr is Register.CR0 or Register.CR2 or Register.CR3 or Register.CR4;
    }

    private bool TryWriteCr(Register cr, ulong value)
    {
        VirtualCpuState s = _cpu.State;
        switch (cr)
        {
            case Register.CR0:
                // The guest cannot leave long mode: PE and PG stay set.
                if ((value & 0x8000_0001) != 0x8000_0001)
                    return false;
                s.Cr0 = value;
                return true;
            case Register.CR2: s.Cr2 = value; return true;
            case Register.CR3: s.Cr3 = value; return true;
            case Register.CR4:
                if ((value & 0x20) == 0) // PAE is required in long mode
                    return false;
                s.Cr4 = value;
                return true;
            default:
                return false;
        }
    }

    private static bool TryEmulatePortIo(VirtualMachine vm, in Instruction insn, ref Registers r, out bool handled, out bool fault)
    {
        handled = true;
        fault = false;
        int size;
        bool isIn, isString = false, usesDx = true;
        switch (insn.Code)
        {
            case Code.In_AL_imm8: size = 1; isIn = true; usesDx = false; break;
            case Code.In_AX_imm8: size = 2; isIn = true; usesDx = false; break;
            case Code.In_EAX_imm8: size = 4; isIn = true; usesDx = false; break;
            case Code.In_AL_DX: size = 1; isIn = true; break;
            case Code.In_AX_DX: size = 2; isIn = true; break;
            case Code.In_EAX_DX: size = 4; isIn = true; break;
            case Code.Out_imm8_AL: size = 1; isIn = false; usesDx = false; break;
            case Code.Out_imm8_AX: size = 2; isIn = false; usesDx = false; break;
            case Code.Out_imm8_EAX: size = 4; isIn = false; usesDx = false; break;
            case Code.Out_DX_AL: size = 1; isIn = false; break;
            case Code.Out_DX_AX: size = 2; isIn = false; break;
            case Code.Out_DX_EAX: size = 4; isIn = false; break;
            case Code.Insb_m8_DX: size = 1; isIn = true; isString = true; break;
            case Code.Insw_m16_DX: size = 2; isIn = true; isString = true; break;
            case Code.Insd_m32_DX: size = 4; isIn = true; isString = true; break;
            case Code.Outsb_DX_m8: size = 1; isIn = false; isString = true; break;
            case Code.Outsw_DX_m16: size = 2; isIn = false; isString = true; break;
            case Code.Outsd_DX_m32: size = 4; isIn = false; isString = true; break;
            default:
                handled = false;
                return false;
        }
        ushort port = usesDx ? (ushort)r.Rdx : insn.Immediate8;
        vm.Exits.CountInstruction(isString ? (isIn ? TrapInstruction.Ins : TrapInstruction.Outs) : (isIn ? TrapInstruction.In : TrapInstruction.Out));
        Span<byte> data = stackalloc byte[4];
        data = data[..size];
        if (!isString)
        {
            if (isIn)
            {
                data.Clear();
                vm.PortBus.Read(port, data);
                ulong value = size == 1 ? data[0] : size == 2 ? BitConverter.ToUInt16(data) : BitConverter.ToUInt32(data);
                r.Rax = size == 4 ? value : (r.Rax & ~((1UL << (size * 8)) - 1)) | value;
            }
            else
            {
                uint v = (uint)r.Rax;
                for (int i = 0; i < size; i++)
                    data[i] = (byte)(v >> (8 * i));
                vm.PortBus.Write(port, data);
            }
            return true;
        }
        // ins/outs: one element, or RCX elements with rep; restartable in chunks like the CPU.
        bool rep = insn.HasRepPrefix;
        ulong count = rep ? r.Rcx : 1;
        bool down = (r.Rflags & (1UL << 10)) != 0;
        ulong step = down ? unchecked((ulong)-size) : (ulong)size;
        ulong done = 0;
        while (done < count && done < MaxStringIoPerTrap)
        {
            if (isIn)
            {
                data.Clear();
                vm.PortBus.Read(port, data);
                if (!vm.WritableMemory.TryWrite(r.Rdi, data)) { fault = true; return true; }
                r.Rdi += step;
            }
            else
            {
                if (!vm.Memory.TryRead(r.Rsi, data)) { fault = true; return true; }
                vm.PortBus.Write(port, data);
                r.Rsi += step;
            }
            done++;
        }
        if (rep)
        {
            r.Rcx -= done;
            handled = r.Rcx == 0; // not done: RIP stays, the instruction continues at the next trap
        }
        return true;
    }

    private static ulong EffectiveAddress(in Instruction insn, ref Registers r)
    {
        if (insn.IsIPRelativeMemoryOperand)
            return insn.IPRelativeMemoryAddress;
        ulong address = insn.MemoryDisplacement64;
        if (insn.MemoryBase != Register.None)
            address += Gpr(ref r, insn.MemoryBase);
        if (insn.MemoryIndex != Register.None)
            address += Gpr(ref r, insn.MemoryIndex) * (ulong)insn.MemoryIndexScale;
        return insn.MemoryBase.IsGPR32() ? (uint)address : address;
    }

    private bool HasGate(VirtualMachine vm, byte vector) => VirtualIdt.TryReadGate(vm.Memory, _cpu.State, vector, out _, out _);

    private bool Reflect(VirtualMachine vm, ref Registers r, byte vector, uint errorCode, in Instruction insn, out string? stopMessage)
    {
        if (TryReflect(vm, ref r, vector, errorCode, out stopMessage))
            return true;
        stopMessage ??= $"unhandled {ExceptionVectors.Mnemonic(vector)}(0x{errorCode:x}) at RIP 0x{r.Rip:x} executing '{insn}' (not emulated{(vector == 13 && insn.Code is Code.Rdmsr or Code.Wrmsr ? $": MSR 0x{(uint)r.Rcx:x} is not granted to this VM" : "")}, and the guest has no virtual IDT gate for it)";
        return false;
    }

    private bool Reflect(VirtualMachine vm, ref Registers r, byte vector, uint errorCode, string what, out string? stopMessage)
    {
        if (TryReflect(vm, ref r, vector, errorCode, out stopMessage))
            return true;
        stopMessage ??= $"unhandled {ExceptionVectors.Mnemonic(vector)}(0x{errorCode:x}) at RIP 0x{r.Rip:x}: {what}, and the guest has no virtual IDT gate for it";
        return false;
    }

    /// <summary>
    /// Delivers exception <paramref name="vector"/> through the virtual IDT (RIP = the faulting
    /// instruction). False with <paramref name="failure"/> null: no usable gate or frame (the caller
    /// names the instruction); false with a message: the gate points where the guest cannot run.
    /// </summary>
    private bool TryReflect(VirtualMachine vm, ref Registers r, byte vector, uint errorCode, out string? failure)
    {
        failure = null;
        if (!VirtualIdt.TryReadGate(vm.Memory, _cpu.State, vector, out ulong handler, out bool clears))
            return false;
        if (!vm.IsGuestCodeAddress(handler))
        {
            failure = VirtualIdt.DescribeBadTarget(vector, handler);
            return false;
        }
        ulong pushed = (r.Rflags & ~Registers.InterruptFlag) | (_cpu.State.InterruptsEnabled ? Registers.InterruptFlag : 0);
        if (!InterruptFrame.TryDeliver(vm.WritableMemory, ref r, handler, pushed, ExceptionVectors.HasErrorCode(vector), errorCode))
            return false;
        if (clears)
            _cpu.State.InterruptsEnabled = false;
        Reflected++;
        return true;
    }

    /// <summary>The 64-bit register behind any general-purpose register name.</summary>
    private static ref ulong Gpr(ref Registers r, Register register)
    {
        switch (register.GetFullRegister())
        {
            case Register.RAX: return ref r.Rax;
            case Register.RBX: return ref r.Rbx;
            case Register.RCX: return ref r.Rcx;
            case Register.RDX: return ref r.Rdx;
            case Register.RSI: return ref r.Rsi;
            case Register.RDI: return ref r.Rdi;
            case Register.RSP: return ref r.Rsp;
            case Register.RBP: return ref r.Rbp;
            case Register.R8: return ref r.R8;
            case Register.R9: return ref r.R9;
            case Register.R10: return ref r.R10;
            case Register.R11: return ref r.R11;
            case Register.R12: return ref r.R12;
            case Register.R13: return ref r.R13;
            case Register.R14: return ref r.R14;
            case Register.R15: return ref r.R15;
            default: return ref s_discard; // not reachable: only GPR operands are decoded above
        }
    }
}
