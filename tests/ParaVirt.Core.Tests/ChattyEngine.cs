using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Core.Tests;

/// <summary>
/// An engine whose vCPU does nothing but the ConsoleWrite hypercall: every run returns a
/// Hypercall exit for <see cref="Hypercall.ConsoleWrite"/> of <see cref="ChunkSize"/> bytes at
/// <see cref="Text"/>, until a kick makes it return Interrupted. Guest memory is real
/// (<see cref="FakeEngine"/>'s).
/// </summary>
internal static class ChattyEngine
{
    public const ulong Text = 0x200000;
    public const int ChunkSize = 4096;

    public static FakeEngine Create() => new(() => new Vcpu());

    private sealed class Vcpu : IVcpuBackend
    {
        // A guest "at" its text in RAM: the run loop resumes only at an address in the guest's pages.
        private Registers _registers = new() { Rip = Text, Rsp = Text + ChunkSize };
        private int _kicked;

        public ref Registers Registers => ref _registers;

        public void Run(ref VcpuExit exit)
        {
            if (Interlocked.Exchange(ref _kicked, 0) != 0)
            {
                exit.Reason = ExitReason.Interrupted;
                return;
            }
            _registers.Rax = (ulong)Hypercall.ConsoleWrite;
            _registers.Rdi = Text;
            _registers.Rsi = ChunkSize;
            exit.Reason = ExitReason.Hypercall;
        }

        public void Kick() => Volatile.Write(ref _kicked, 1);

        public void ClearKick() => Volatile.Write(ref _kicked, 0);

        public ulong ReadControlRegister(int index) => 0;

        public void ResetForEntry() => _registers = new Registers { Rip = Text, Rsp = Text + ChunkSize };

        public void Dispose()
        {
        }
    }
}
