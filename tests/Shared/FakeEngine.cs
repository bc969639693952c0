using System;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Testing;

/// <summary>
/// A test engine (linked into the test projects that need one): its VMs have real guest memory with
/// the KVM platform's layout, and a vCPU that never runs unless the test supplies one. Enough to
/// drive hypercall handlers, devices and the builder without KVM.
/// </summary>
internal sealed class FakeEngine(Func<IVcpuBackend>? vcpu = null) : IHypervisor
{
    public string Name => "fake";

    /// <summary>A host whose cpuid does not trap: CPU virtualization leaves CPUID faulting off.</summary>
    public PlatformBehaviour Behaviour { get; } = new("fake", false, false, false, "", 1, 1);

    public IVmBackend CreateVm(in VmBackendOptions options) => new Backend(options.MemorySize, vcpu ?? (() => new IdleVcpu()));

    private sealed class Backend(ulong size, Func<IVcpuBackend> vcpu) : IVmBackend
    {
        public GuestMemory Memory { get; } = GuestMemory.Create(size);

        public PlatformLayout Layout => new(0x10000, 0x11000, 0x12000, 0x200000, Memory.Size, 0xC0000000, 0x1_0000_0000);

        public IVcpuBackend CreateVcpu(int index) => vcpu();

        public void Dispose() => Memory.Dispose();
    }

    /// <summary>A vCPU that never runs.</summary>
    private sealed class IdleVcpu : IVcpuBackend
    {
        private Registers _registers;

        public ref Registers Registers => ref _registers;

        public void Run(ref VcpuExit exit) => throw new NotSupportedException("the fake engine runs no guest");

        public void Kick()
        {
        }

        public void ClearKick()
        {
        }

        public ulong ReadControlRegister(int index) => 0;

        public void ResetForEntry() => _registers = default;

        public void Dispose()
        {
        }
    }
}
