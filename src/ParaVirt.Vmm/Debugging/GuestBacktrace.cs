using System;
using System.Collections.Generic;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;
using ParaVirt.Image;

namespace ParaVirt.Vmm.Debugging;

/// <summary>One frame of a guest backtrace.</summary>
/// <param name="Address">The program counter (frame 0) or a return address (callers).</param>
/// <param name="Description">The symbolized address (<c>Type::Method+0xoff (File.cs:line)</c>), or the address in hex without symbols.</param>
public sealed record GuestFrame(ulong Address, string Description);

/// <summary>
/// Unwinds a stopped guest's stack with ilc's call frame information (<c>.eh_frame</c>, from the
/// image's debug ELF), which also covers the small functions ilc compiles without an RBP frame;
/// without it, with frame pointers (<c>[rbp]</c> the caller's RBP, <c>[rbp+8]</c> the return
/// address), which skips such functions. Frame 0 is RIP; when RIP is outside the image (a
/// fail-fast stops in a hypercall stub, which keeps no frame) it is the return address at
/// <c>[rsp]</c>. Memory is read at guest virtual addresses through the guest's page tables,
/// bounds-checked; the walk stops at the first return address outside the image's code (the
/// entry's return into the exit stub), at a stack that does not move up, and after <see cref="MaxFrames"/>.
/// </summary>
/// <example><code>
/// IReadOnlyList&lt;GuestFrame&gt; frames = GuestBacktrace.Capture(machine.Vm, ImageSymbols.TryLoad("Crash.pvimg.elf"), image);
/// </code></example>
public static class GuestBacktrace
{
    /// <summary>The most frames a backtrace holds.</summary>
    public const int MaxFrames = 32;

    /// <summary>The backtrace of <paramref name="vm"/>'s vCPU 0 as it stopped (call after the run, before disposing the VM).</summary>
    public static IReadOnlyList<GuestFrame> Capture(VirtualMachine vm, ImageSymbols? symbols, ulong imageStart, ulong imageEnd)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var frames = new List<GuestFrame>();
        ulong cr3;
        try
        {
            cr3 = vm.ReadControlRegister(3);
        }
        catch (Exception) // the engine could not read CR3 (the VM is gone): no backtrace, never a failure of its own
        {
            return frames;
        }
        var r = vm.Registers;
        bool InImage(ulong a) => symbols?.IsCode(a) ?? (a >= imageStart && a < imageEnd);
        bool Read(ulong address, out ulong value)
        {
            value = 0;
            Span<byte> bytes = stackalloc byte[8];
            if (!PageTableWalker.TryTranslate(vm.PhysicalMemory, cr3, address, out ulong physical, out ulong left) || left < 8 || !vm.Memory.TryRead(physical, bytes))
                return false;
            value = BitConverter.ToUInt64(bytes);
            return true;
        }
        string Describe(ulong a, bool ret) => symbols?.Describe(a, ret) ?? $"0x{a:x}";

        ulong pc = r.Rip, rsp = r.Rsp, rbp = r.Rbp;
        bool isReturn = false;
        if (!InImage(pc))
        {
            // A hypercall stub (a fail-fast) keeps no frame: its caller's return address is at [rsp].
            if (!Read(rsp, out ulong caller) || !InImage(caller))
            {
                frames.Add(new GuestFrame(pc, $"0x{pc:x} (outside the image)"));
                return frames;
            }
            pc = caller;
            rsp += 8;
            isReturn = true;
        }
        while (frames.Count < MaxFrames)
        {
            frames.Add(new GuestFrame(pc, Describe(pc, isReturn)));
            ulong returnAddress, callerRsp, callerRbp = rbp;
            if (symbols?.Frames is { } cfi && cfi.TryFind(isReturn ? pc - 1 : pc, out CallFrameRule rule))
            {
                ulong cfa = (rule.CfaRegister == 7 ? rsp : rbp) + (ulong)rule.CfaOffset;
                if (!Read(cfa + (ulong)rule.ReturnAddressOffset, out returnAddress))
                    break;
                if (rule.RbpOffset is long saved && !Read(cfa + (ulong)saved, out callerRbp))
                    break;
                callerRsp = cfa;
            }
            else
            {
                // No call frame information: follow the frame pointers.
                if (rbp % 8 != 0 || rbp < rsp || !Read(rbp + 8, out returnAddress) || !Read(rbp, out callerRbp))
                    break;
                callerRsp = rbp + 16;
            }
            if (!InImage(returnAddress) || callerRsp <= rsp)
                break; // the entry's return into the exit stub, or a corrupt stack
            pc = returnAddress;
            rsp = callerRsp;
            rbp = callerRbp;
            isReturn = true;
        }
        return frames;
    }
}
