using ParaVirt.Core.Memory;

namespace ParaVirt.Cpu.Interrupts;

/// <summary>Reads gates of the guest's virtual IDT (16-byte 64-bit gate descriptors) from guest memory, bounds-checked.</summary>
internal static class VirtualIdt
{
    /// <summary>Gate types: interrupt gates clear IF on entry, trap gates do not.</summary>
    public const int InterruptGate = 0xE, TrapGate = 0xF;

    /// <summary>Reads the gate of <paramref name="vector"/>; false if there is no IDT, the vector is past the limit, the gate is not present or not a 64-bit gate, or it lies outside memory.</summary>
    public static bool TryReadGate(GuestMemory memory, VirtualCpuState state, byte vector, out ulong handler, out bool clearsInterrupts)
    {
        handler = 0;
        clearsInterrupts = true;
        if (!state.IdtLoaded)
            return false;
        ulong offset = (ulong)vector * 16;
        if (offset + 15 > state.IdtLimit)
            return false;
        if (state.IdtBase + offset < state.IdtBase || !memory.TryRead(state.IdtBase + offset, out Gate gate))
            return false;
        int type = (gate.Attributes >> 8) & 0xF;
        bool present = (gate.Attributes & 0x8000) != 0;
        if (!present || type is not (InterruptGate or TrapGate))
            return false;
        handler = gate.OffsetLow | ((ulong)gate.OffsetMiddle << 16) | ((ulong)gate.OffsetHigh << 32);
        clearsInterrupts = type == InterruptGate;
        return true;
    }

    /// <summary>
    /// The stop message for a gate whose handler the guest may not be resumed at (non-canonical, or
    /// outside its pages). The architecture raises #GP for a non-canonical gate offset; the platform
    /// defines a clean stop instead of nesting exceptions the guest set up to fail.
    /// </summary>
    public static string DescribeBadTarget(byte vector, ulong handler) =>
        $"vector 0x{vector:x}: the virtual IDT gate points at 0x{handler:x}, {(Core.Machine.VirtualMachine.IsCanonical(handler) ? "outside the guest's pages" : "a non-canonical address")}; the VM is stopped instead of entering it";

#pragma warning disable CS0649 // filled by reading guest memory
    private struct Gate
    {
        public ushort OffsetLow, Selector, Attributes, OffsetMiddle;
        public uint OffsetHigh, Reserved;
    }
#pragma warning restore CS0649
}
