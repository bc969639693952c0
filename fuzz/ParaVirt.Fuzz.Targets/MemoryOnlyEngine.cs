using System;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// An <see cref="IHypervisor"/> whose VMs have real <see cref="GuestMemory"/> and the product's
/// platform layout but a vCPU that never runs: a <see cref="Core.Machine.VirtualMachine"/> on it
/// has its guest-accessible view, port bus, hypercall table and exit statistics, so the trap
/// emulator and hypercall handlers run exactly as on KVM when the harness hands them an exit.
/// </summary>
/// <remarks>
/// Physical memory is <see cref="PhysicalSize"/> bytes: the platform's pages below
/// <see cref="GuestRamStart"/> (other than the three guest pages) are outside the guest's view,
/// like the IDT, page tables and ring-0 stack on KVM: a harness fills them with a canary.
/// </remarks>
public sealed class MemoryOnlyEngine : IHypervisor
{
    /// <summary>The hypercall page; the start-info and shared-info pages follow it.</summary>
    public const ulong HypercallPage = 0x10000;

    /// <summary>The first byte of guest RAM.</summary>
    public const ulong GuestRamStart = 0x20000;

    /// <summary>The size of physical memory (guest RAM ends here).</summary>
    public const ulong PhysicalSize = 0x40000;

    /// <inheritdoc/>
    public string Name => "memory-only";

    /// <summary>
    /// Nothing is probed (no guest runs): cpuid faulting is off, so CPU virtualization leaves it
    /// off as on a host where cpuid does not trap; the emulator still handles a cpuid trap it is handed.
    /// </summary>
    public PlatformBehaviour Behaviour { get; } = new("memory-only", false, false, false, "", 0, 0);

    /// <inheritdoc/>
    public IVmBackend CreateVm(in VmBackendOptions options) => new Backend();

    private sealed class Backend : IVmBackend
    {
        public GuestMemory Memory { get; } = GuestMemory.Create(PhysicalSize);

        public PlatformLayout Layout => new(HypercallPage, HypercallPage + 0x1000, HypercallPage + 0x2000, GuestRamStart, PhysicalSize, 0xC000_0000, 0x1_0000_0000);

        public IVcpuBackend CreateVcpu(int index) => new Vcpu();

        public void Dispose() => Memory.Dispose();
    }

    private sealed class Vcpu : IVcpuBackend
    {
        private Registers _registers;

        public ref Registers Registers => ref _registers;

        public void Run(ref VcpuExit exit) => throw new NotSupportedException("the memory-only engine runs no guest code");

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
