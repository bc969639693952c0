using System;
using Iced.Intel;
using ParaVirt.Core.Cpu;

namespace ParaVirt.Core.Machine;

/// <summary>Turns a trap into one readable line, naming the instruction at the faulting RIP. Cold path.</summary>
internal static class TrapDescriber
{
    public static string Describe(VirtualMachine vm, in VcpuExit exit)
    {
        string mnemonic = ExceptionVectors.Mnemonic(exit.Vector);
        string text = $"unhandled {mnemonic}";
        if (ExceptionVectors.HasErrorCode(exit.Vector))
            text += $"(0x{exit.ErrorCode:x})";
        text += $" at RIP 0x{exit.Rip:x}";
        if (exit.Vector == (byte)ExceptionVector.PageFault)
        {
            string access = (exit.ErrorCode & 0x10) != 0 ? "instruction fetch" : (exit.ErrorCode & 2) != 0 ? "write" : "read";
            string kind = (exit.ErrorCode & 1) != 0 ? "protection violation" : "not mapped";
            text += $": {access} of 0x{exit.Address:x} ({kind})";
        }
        string? instruction = TryDecode(vm, exit.Rip);
        text += instruction is null ? " (RIP is outside guest memory)" : $" executing '{instruction}'";
        return text;
    }

    /// <summary>Decodes the instruction at a guest address (guest memory is identity-mapped), or null.</summary>
    public static string? TryDecode(VirtualMachine vm, ulong rip)
    {
        Span<byte> bytes = stackalloc byte[15];
        int length = 15;
        while (length > 0 && !vm.Memory.TryRead(rip, bytes[..length]))
            length--;
        if (length == 0)
            return null;
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes[..length].ToArray()), rip);
        decoder.Decode(out Instruction instruction);
        if (instruction.IsInvalid)
            return "(undecodable bytes)";
        var formatter = new NasmFormatter();
        var output = new StringOutput();
        formatter.Format(instruction, output);
        return output.ToStringAndReset();
    }
}
