using System;
using System.Runtime.InteropServices;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Memory;

namespace ParaVirt.Cpu.Interrupts;

/// <summary>
/// Builds a 64-bit interrupt frame on the guest's stack, as the CPU does for an interrupt that
/// does not change privilege: [RSP] = error code (if any), RIP, CS, RFLAGS, old RSP, SS. The frame
/// is placed below a 128-byte red zone (System V lets leaf code use it) at a 16-byte boundary,
/// so the guest's handler returns with a native <c>iretq</c>, which restores the exact old RSP.
/// </summary>
internal static class InterruptFrame
{
    /// <summary>The guest's selectors at CPL3 on the KVM platform (user code 0x23, user data 0x1B).</summary>
    public const ulong UserCode = 0x23, UserData = 0x1B;

    /// <summary>Bytes skipped below the interrupted RSP.</summary>
    public const ulong RedZone = 128;

    /// <summary>
    /// Pushes the frame and points the guest at <paramref name="handler"/>. Returns false (and
    /// changes nothing) if the frame would leave guest memory.
    /// </summary>
    /// <remarks><paramref name="memory"/> is the guest-writable view (<c>VirtualMachine.WritableMemory</c>): a stack on a read-only page is refused.</remarks>
    public static bool TryDeliver(GuestMemory memory, ref Registers r, ulong handler, ulong pushedRflags, bool hasErrorCode, ulong errorCode)
    {
        Span<ulong> frame = stackalloc ulong[6];
        int words = 0;
        if (hasErrorCode)
            frame[words++] = errorCode;
        frame[words++] = r.Rip;
        frame[words++] = UserCode;
        frame[words++] = pushedRflags;
        frame[words++] = r.Rsp;
        frame[words++] = UserData;
        ulong size = (ulong)words * 8;
        // Invariant: the arithmetic cannot wrap into a valid address: a guest RSP below the red zone
        // and the frame is refused rather than wrapped.
        if (r.Rsp < RedZone + size + 16)
            return false;
        ulong top = (r.Rsp - RedZone) & ~0xFUL;
        ulong rsp = top - size;
        if (!memory.TryWrite(rsp, MemoryMarshal.AsBytes(frame[..words])))
            return false;
        r.Rsp = rsp;
        r.Rip = handler;
        return true;
    }
}
