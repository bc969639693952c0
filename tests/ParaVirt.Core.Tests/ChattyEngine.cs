using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Core.Tests;

/// <summary>
/// An engine whose vCPU does nothing but the ConsoleWrite hypercall: every run returns a
/// Hypercall exit for <see cref="Hypercall.ConsoleWrite"/> of <see cref="ChunkSize"/> bytes at
/// <see cref="Text"/>, until a kick makes it return Interrupted. Guest memory is real.
/// </summary>
internal sealed class ChattyEngine : IHypervisor
{
    public const ulong Text = 0x200000;
    public const int ChunkSize = 4096;

    public string Name => "chatty";

    /// <summary>A vCPU that runs no instructions has no behaviour to probe.</summary>
    public PlatformBehaviour Behaviour => throw new NotSupportedException("the chatty engine runs no instructions");

    public IVmBackend CreateVm(in VmBackendOptions options) => new Backend(options.MemorySize);

    private sealed class Backend(ulong size) : IVmBackend
    {
        public GuestMemory Memory { get; } = GuestMemory.Create(size);

        public PlatformLayout Layout => new(0x10000, 0x11000, 0x12000, 0x200000, Memory.Size, 0xC0000000, 0x1_0000_0000);

        public IVcpuBackend CreateVcpu(int index) => new Vcpu();

        public void Dispose() => Memory.Dispose();
    }

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
