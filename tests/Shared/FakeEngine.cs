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

    public IVmBackend CreateVm(in VmBackendOptions options) => new Backend(options.MemorySize, options.PrivateMemorySize, vcpu ?? (() => new IdleVcpu()));

    /// <summary>
    /// Guest RAM with the KVM platform's layout: the identity map's RAM page directory at 0x9000
    /// (2 MiB user read-write entries, as the KVM engine writes them), host-private memory at 4 GiB.
    /// </summary>
    private sealed class Backend : IVmBackend, IHostPrivateMemory
    {
        public Backend(ulong size, ulong privateSize, Func<IVcpuBackend> vcpu)
        {
            _vcpu = vcpu;
            Memory = GuestMemory.Create(size);
            if (privateSize != 0)
                PrivateMemory = GuestMemory.Create([(0x1_0000_0000UL, privateSize)]);
            Memory.TryWrite(0x7000, 0x8000UL | 7); // PML4 slot 0: the platform's PDPT
            for (ulong address = 0x200000; address + (2UL << 20) <= size; address += 2UL << 20)
                Memory.TryWrite(0x9000 + address / (2UL << 20) * 8, address | 0x87UL);
        }

        private readonly Func<IVcpuBackend> _vcpu;

        public GuestMemory Memory { get; }

        public GuestMemory? PrivateMemory { get; }

        public PlatformLayout Layout => new(0x10000, 0x11000, 0x12000, 0x200000, Memory.Size, 0xC0000000, 0x1_0000_0000, 0x7000, 0x9000);

        public IVcpuBackend CreateVcpu(int index) => _vcpu();

        public void Dispose()
        {
            Memory.Dispose();
            PrivateMemory?.Dispose();
        }
    }

    /// <summary>A vCPU that never runs; it records what the MMU asks of its paging (<see cref="IGuestPaging"/>).</summary>
    internal sealed class IdleVcpu : IVcpuBackend, IGuestPaging
    {
        private readonly System.Collections.Generic.List<ulong> _noted = [];

        public ulong Root { get; private set; } = 0x7000;

        public ulong PlatformRoot => 0x7000;

        public long Flushes { get; private set; }

        /// <summary>Table pages noted since the last simulated entry.</summary>
        public System.Collections.Generic.IReadOnlyList<ulong> NotedTablePages => _noted;

        /// <summary>Whether a flush is pending for the next (simulated) entry.</summary>
        public bool FlushPending { get; private set; }

        /// <summary>Distinct table pages one entry takes (the KVM engine's is 511); a test lowers it to exercise the bound.</summary>
        public int TableWriteLimit { get; set; } = 511;

        public int TableWriteCapacity => Math.Max(0, TableWriteLimit - _noted.Count);

        public void SetRoot(ulong root)
        {
            Root = root;
            FlushPending = true;
        }

        public void FlushTlbBeforeNextEntry() => FlushPending = true;

        public bool TryNoteTableWrite(ulong tablePage)
        {
            tablePage &= ~0xFFFUL;
            if (_noted.Contains(tablePage))
                return true;
            if (_noted.Count >= TableWriteLimit)
                return false;
            _noted.Add(tablePage);
            FlushPending = true;
            return true;
        }

        /// <summary>What the engine does on entry: the flush happens, the notes are consumed.</summary>
        public void SimulateEntry()
        {
            if (FlushPending)
                Flushes++;
            FlushPending = false;
            _noted.Clear();
        }

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

        public void ResetForEntry()
        {
            _registers = default;
            Root = 0x7000;
            _noted.Clear();
            FlushPending = false;
        }

        public void Dispose()
        {
        }
    }
}
