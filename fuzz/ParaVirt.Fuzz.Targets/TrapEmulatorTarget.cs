using System;
using System.Collections.Generic;
using Iced.Intel;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;
using ParaVirt.Cpu;
using ParaVirt.Cpu.Emulation;
using ParaVirt.Vmm;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// The full-mode trap emulator (<see cref="TrapEmulator.HandleTrap"/>) on arbitrary instruction
/// bytes, registers, virtual CPU state and exception vectors, in a <see cref="VirtualMachine"/> on
/// the <see cref="MemoryOnlyEngine"/>, built by the product's <see cref="MachineBuilder"/> for a
/// full-mode guest (the emulator, PIT, RTC and MSR file are the product's). Oracle: no exception escapes; after a handled
/// trap RIP is unchanged (an unfinished rep ins/outs), advanced by the length Iced decodes at the old
/// RIP, the iretq target after sti, or the handler of a present gate of the virtual IDT; the
/// platform pages outside the guest's view and the read-only hypercall and start-info pages are
/// unchanged (no host write outside guest-writable memory).
/// </summary>
/// <remarks>
/// A fresh VM per input (about 0.1 ms) keeps inputs independent; KVM is not needed, so the target
/// runs where CI runs. Input: vector selector, error code, fault address, CPU state flags, IDT base
/// and limit, a bitmap choosing RAM-relative (32-bit offset) or raw (64-bit) for each of the 16 GPRs,
/// RIP and RFLAGS, their values, a trap count (1-4), then the bytes of guest RAM from its start.
/// </remarks>
public sealed class TrapEmulatorTarget : IFuzzTarget
{
    private const byte CanaryByte = 0xCB;
    private const ulong RamSize = MemoryOnlyEngine.PhysicalSize - MemoryOnlyEngine.GuestRamStart;
    private const ulong GuestPagesEnd = MemoryOnlyEngine.HypercallPage + 0x3000;

    private readonly byte[] _code = new byte[TrapCodeLength];
    private const int TrapCodeLength = 15;

    /// <inheritdoc/>
    public string Name => "trap";

    /// <inheritdoc/>
    public void Run(ReadOnlySpan<byte> input)
    {
        var reader = new FuzzInput(input);
        byte selector = reader.U8();
        byte vector = (selector & 3) switch { 0 => 13, 1 => 6, 2 => 14, _ => reader.U8() };
        uint errorCode = reader.U32();
        ulong faultAddress = reader.U64();
        byte stateFlags = reader.U8();
        ulong idtBase = MemoryOnlyEngine.GuestRamStart + reader.U32() % RamSize;
        ushort idtLimit = reader.U16();
        uint ramRelative = reader.U32();
        Span<ulong> values = stackalloc ulong[18];
        for (int i = 0; i < values.Length; i++)
            values[i] = (ramRelative & (1u << i)) != 0 ? MemoryOnlyEngine.GuestRamStart + reader.U32() % RamSize : reader.U64();
        int traps = 1 + reader.U8() % 4;
        ReadOnlySpan<byte> ram = reader.Bytes((int)RamSize);

        // The product's composition root builds the full-mode machine (PIT, RTC, CPU virtualization, emulator).
        using Machine machine = MachineBuilder.Create(new MemoryOnlyEngine()).WithMode(VirtualizationMode.Full).Build();
        VirtualMachine vm = machine.Vm;
        VirtualCpu cpu = machine.Cpu!;
        GuestMemory physical = vm.PhysicalMemory;
        FillCanary(physical);
        physical.TryWrite(MemoryOnlyEngine.GuestRamStart, ram);
        TrapEmulator emulator = cpu.Emulator!;
        cpu.State.InterruptsEnabled = (stateFlags & 1) != 0;
        if ((stateFlags & 2) != 0)
        {
            cpu.State.IdtLoaded = true;
            cpu.State.IdtBase = (stateFlags & 4) != 0 ? values[0] : idtBase;
            cpu.State.IdtLimit = idtLimit;
        }

        var r = new Registers
        {
            Rax = values[0], Rbx = values[1], Rcx = values[2], Rdx = values[3], Rsi = values[4], Rdi = values[5], Rsp = values[6], Rbp = values[7],
            R8 = values[8], R9 = values[9], R10 = values[10], R11 = values[11], R12 = values[12], R13 = values[13], R14 = values[14], R15 = values[15],
            Rip = values[16], Rflags = values[17] | 2,
        };
        var exit = new VcpuExit { Reason = ExitReason.Trap, Vector = vector, ErrorCode = errorCode, Address = faultAddress, Rip = r.Rip };

        var allowed = new List<ulong>(8);
        // The hypercall and start-info pages are the guest's to read only: no trap may change them.
        physical.TryGetSpan(MemoryOnlyEngine.HypercallPage, 0x2000, out Span<byte> readOnlyPages);
        byte[] readOnlyBefore = readOnlyPages.ToArray();
        for (int t = 0; t < traps; t++)
        {
            exit.Rip = r.Rip;
            allowed.Clear();
            AllowedTargets(vm, cpu, in r, vector, allowed);
            bool handled;
            string? stop;
            try
            {
                handled = emulator.HandleTrap(vm, in exit, ref r, out stop);
            }
            catch (Exception ex)
            {
                throw new OracleViolationException($"TrapEmulator.HandleTrap threw {ex.GetType().Name}: {ex.Message}", ex);
            }
            AddHandlers(vm, cpu, vector, allowed); // a gate the trap itself wrote (ins into the IDT) counts too
            CheckCanary(physical);
            int changedReadOnly = readOnlyPages.CommonPrefixLength(readOnlyBefore);
            OracleViolationException.Check(changedReadOnly == readOnlyBefore.Length,
                $"the trap wrote the guest's read-only hypercall/start-info pages at 0x{MemoryOnlyEngine.HypercallPage + (ulong)changedReadOnly:x}");
            if (!handled)
            {
                OracleViolationException.Check(!string.IsNullOrEmpty(stop), "the emulator refused a trap without a stop message");
                break;
            }
            OracleViolationException.Check(allowed.Contains(r.Rip),
                $"after vector {vector} RIP went from 0x{exit.Rip:x} to 0x{r.Rip:x}, none of [{string.Join(", ", allowed.ConvertAll(a => $"0x{a:x}"))}]");
            vector = (t & 1) == 0 ? (byte)13 : (byte)6; // later traps: whatever sits at the new RIP, as #GP then #UD
        }
    }

    /// <summary>The RIPs a handled trap may leave: unchanged, the next instruction, the iretq target after sti, a gate's handler.</summary>
    private void AllowedTargets(VirtualMachine vm, VirtualCpu cpu, in Registers r, byte vector, List<ulong> allowed)
    {
        allowed.Add(r.Rip);
        int available = 0;
        for (int length = TrapCodeLength; length > 0 && available == 0; length--)
            if (r.Rip + (ulong)length > r.Rip && vm.Memory.TryRead(r.Rip, _code.AsSpan(0, length)))
                available = length;
        if (available > 0)
        {
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(_code, 0, available));
            decoder.IP = r.Rip;
            decoder.Decode(out Instruction insn);
            if (!insn.IsInvalid)
            {
                ulong next = r.Rip + (ulong)insn.Length;
                allowed.Add(next);
                Span<byte> iret = stackalloc byte[2];
                if (insn.Code == Code.Sti && vm.Memory.TryRead(next, iret) && iret[0] == 0x48 && iret[1] == 0xCF && vm.Memory.TryRead(r.Rsp, out ulong target))
                    allowed.Add(target);
            }
        }
        AddHandlers(vm, cpu, vector, allowed);
    }

    /// <summary>Adds the handlers of the present gates for <paramref name="vector"/> and #GP, read as the architecture defines them.</summary>
    private static void AddHandlers(VirtualMachine vm, VirtualCpu cpu, byte vector, List<ulong> allowed)
    {
        Span<byte> gate = stackalloc byte[16];
        foreach (byte v in (ReadOnlySpan<byte>)[vector, 13, 6])
        {
            VirtualCpuState s = cpu.State;
            ulong offset = (ulong)v * 16;
            if (!s.IdtLoaded || offset + 15 > s.IdtLimit || s.IdtBase + offset < s.IdtBase)
                continue;
            if (!vm.Memory.TryRead(s.IdtBase + offset, gate))
                continue;
            int attributes = BitConverter.ToUInt16(gate[4..]);
            int type = (attributes >> 8) & 0xF;
            if ((attributes & 0x8000) == 0 || type is not (0xE or 0xF))
                continue;
            allowed.Add(BitConverter.ToUInt16(gate) | (ulong)BitConverter.ToUInt16(gate[6..]) << 16 | (ulong)BitConverter.ToUInt32(gate[8..]) << 32);
        }
    }

    private static void FillCanary(GuestMemory physical)
    {
        physical.TryFill(0, MemoryOnlyEngine.HypercallPage, CanaryByte);
        physical.TryFill(GuestPagesEnd, MemoryOnlyEngine.GuestRamStart - GuestPagesEnd, CanaryByte);
    }

    private static void CheckCanary(GuestMemory physical)
    {
        CheckRange(physical, 0, MemoryOnlyEngine.HypercallPage);
        CheckRange(physical, GuestPagesEnd, MemoryOnlyEngine.GuestRamStart - GuestPagesEnd);
    }

    private static void CheckRange(GuestMemory physical, ulong start, ulong length)
    {
        physical.TryGetSpan(start, length, out Span<byte> span);
        int changed = span.IndexOfAnyExcept(CanaryByte);
        OracleViolationException.Check(changed < 0, $"host wrote platform memory outside the guest's view at 0x{start + (ulong)changed:x}");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
