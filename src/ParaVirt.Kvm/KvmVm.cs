using System;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Memory;
using ParaVirt.Kvm.Interop;
using ParaVirt.Kvm.Platform;

namespace ParaVirt.Kvm;

/// <summary>
/// One KVM VM: the VM file descriptor, guest RAM in memory slot 0, host-private memory (page
/// tables the guest cannot see) in slot 1, and the platform the host
/// builds itself (page tables, GDT, TSS with I/O bitmap, IDT, trampolines, hypercall page).
/// No BIOS, no bootloader. Disposing closes every descriptor and unmaps every mapping, but never
/// under a thread still using it: doorbell waiters are woken and waited for, and guest RAM is
/// unmapped only when no <see cref="GuestMemory"/> lease is held (docs/virtio.md, "Lifetime").
/// </summary>
internal sealed unsafe class KvmVm : IVmBackend, IDoorbellProvider, IHostPrivateMemory
{
    /// <summary>How long disposing the VM waits for a doorbell's waiter to leave before it defers closing the eventfd.</summary>
    private static readonly TimeSpan DoorbellCloseTimeout = TimeSpan.FromSeconds(5);

    private readonly System.Collections.Generic.List<KvmDoorbell> _doorbells = [];
    private readonly KvmDevice _kvm;
    private int _fd;
    private bool _vcpuCreated;

    public KvmVm(KvmDevice kvm, in VmBackendOptions options)
    {
        _kvm = kvm;
        ulong size = options.MemorySize;
        if (size < KvmPlatform.MinMemory || size > KvmPlatform.MaxMemory || size % (2UL << 20) != 0)
            throw new ArgumentOutOfRangeException(nameof(options), size,
                $"guest memory must be a multiple of 2 MiB from {KvmPlatform.MinMemory >> 20} MiB to {KvmPlatform.MaxMemory >> 20} MiB");

        _fd = KvmException.Check(LibC.Ioctl(kvm.Fd, KvmIoctl.CreateVm, 0), "KVM_CREATE_VM");
        try
        {
            Memory = GuestMemory.Create(size);
            GuestRegion region = Memory.Regions[0];
            var slot = new KvmUserspaceMemoryRegion
            {
                Slot = 0,
                GuestPhysAddr = region.GuestAddress,
                MemorySize = region.Size,
                UserspaceAddr = (ulong)region.HostAddress,
            };
            KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.SetUserMemoryRegion, &slot), "KVM_SET_USER_MEMORY_REGION");

            // Host-private memory: its own slot above the MMIO window, which no platform table maps
            // and no guest mapping may name (docs/memory-virtualization.md).
            ulong privateSize = options.PrivateMemorySize;
            if (privateSize != 0)
            {
                if (privateSize % 4096 != 0 || privateSize > KvmPlatform.MaxPrivateMemory)
                    throw new ArgumentOutOfRangeException(nameof(options), privateSize,
                        $"host-private memory must be a multiple of 4 KiB up to {KvmPlatform.MaxPrivateMemory >> 20} MiB");
                PrivateMemory = GuestMemory.Create([(KvmPlatform.PrivateMemoryStart, privateSize)]);
                GuestRegion pool = PrivateMemory.Regions[0];
                var privateSlot = new KvmUserspaceMemoryRegion
                {
                    Slot = 1,
                    GuestPhysAddr = pool.GuestAddress,
                    MemorySize = pool.Size,
                    UserspaceAddr = (ulong)pool.HostAddress,
                };
                KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.SetUserMemoryRegion, &privateSlot), "KVM_SET_USER_MEMORY_REGION (private)");
            }

            PageTables.Build(Memory, PrivateMemory is null ? 0 : options.PrivateMemorySize);
            DescriptorTables.Build(Memory, options.OpenPorts.Span, Trampolines.Entries);
            if (!Memory.TryWrite(KvmPlatform.Trampolines, Trampolines.Code) ||
                !Memory.TryWrite(KvmPlatform.HypercallPage, Trampolines.HypercallPageCode))
                throw new InvalidOperationException("platform code does not fit guest memory");

            Layout = new PlatformLayout(
                HypercallPage: KvmPlatform.HypercallPage,
                StartInfoPage: KvmPlatform.StartInfoPage,
                SharedInfoPage: KvmPlatform.SharedInfoPage,
                GuestRamStart: KvmPlatform.GuestRamStart,
                GuestRamEnd: size,
                MmioStart: KvmPlatform.MmioStart,
                MmioEnd: KvmPlatform.MmioEnd,
                PageTableRoot: KvmPlatform.Pml4,
                RamPageDirectory: KvmPlatform.PdRam);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public GuestMemory Memory { get; } = null!;

    /// <inheritdoc/>
    public GuestMemory? PrivateMemory { get; }

    public PlatformLayout Layout { get; }

    internal int Fd => _fd;

    public IVcpuBackend CreateVcpu(int index)
    {
        // One vCPU per VM for now: each extra vCPU needs its own TSS and ring-0 stack.
        if (index != 0 || _vcpuCreated)
            throw new NotSupportedException("the KVM engine runs one vCPU per VM");
        var vcpu = new KvmVcpu(this, _kvm, index);
        _vcpuCreated = true;
        return vcpu;
    }

    public Doorbell CreatePortDoorbell(ushort port)
    {
        if (port is ParaVirt.Abi.PlatformPorts.Hypercall or ParaVirt.Abi.PlatformPorts.Trap)
            throw new ArgumentException($"port 0x{port:x} belongs to the platform", nameof(port));
        var doorbell = new KvmDoorbell(_fd, port);
        lock (_doorbells)
            _doorbells.Add(doorbell);
        return doorbell;
    }

    public void Dispose()
    {
        lock (_doorbells)
        {
            // Each waiter is woken with 0 and its eventfd closed only after it left Wait (bounded:
            // a thread that does not leave closes the descriptor itself when it does).
            foreach (KvmDoorbell doorbell in _doorbells)
                doorbell.Close(DoorbellCloseTimeout);
            _doorbells.Clear();
        }
        if (_fd > 0)
        {
            LibC.Close(_fd);
            _fd = -1;
        }
        Memory?.Dispose();
        PrivateMemory?.Dispose();
    }
}
