using System;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;
using ParaVirt.Cpu;
using ParaVirt.Cpu.Shadow;
using ParaVirt.Mmu;

namespace ParaVirt.Vmm;

/// <summary>
/// Full mode's shadow paging on the platform's memory infrastructure: shadow tables in the VM's
/// host-private memory (<see cref="HostPagePool"/>), guest tables write-protected in the identity
/// map (<see cref="IdentityMapProtection"/>), the root, flushes and table-write publication through
/// the vCPU's <see cref="IGuestPaging"/>. The machine builder attaches it to every full-mode machine
/// whose engine offers those features.
/// </summary>
internal static class ShadowPaging
{
    /// <summary>Attaches a shadow MMU to <paramref name="cpu"/>'s trap emulator; null when the engine lacks the features.</summary>
    public static ShadowMmu? TryAttach(VirtualMachine vm, VirtualCpu cpu)
    {
        PlatformLayout layout = vm.Layout;
        if (cpu.Emulator is not { } emulator || vm.GetVmFeature<IHostPrivateMemory>()?.PrivateMemory is not { } privateMemory ||
            vm.GetVcpuFeature<IGuestPaging>() is not { } paging || layout.PageTableRoot == 0 || layout.RamPageDirectory == 0)
            return null;
        if (!vm.PhysicalMemory.TryRead(layout.PageTableRoot, out ulong identityEntry))
            throw new InvalidOperationException("the platform's PML4 is outside guest memory");
        var pool = new HostPagePool(privateMemory);
        var protection = new IdentityMapProtection(vm.PhysicalMemory, layout, pool, paging);
        var mmu = new ShadowMmu(vm.WritableMemory, layout.GuestRamStart, layout.GuestRamEnd, identityEntry,
            new PlatformHost(paging, protection), new PoolPages(pool));
        emulator.AttachShadowMmu(mmu);
        // The guest asks before it manages page tables: in full mode the Mmu bit says that mov cr3,
        // invlpg and page-table stores take effect (docs/memory-virtualization.md).
        vm.Features |= ParaVirt.Abi.HypercallFeatures.Mmu;
        return mmu;
    }

    private sealed class PlatformHost(IGuestPaging paging, IdentityMapProtection protection) : IShadowPagingHost
    {
        public ulong ActiveRoot => paging.Root;

        public bool TryWriteProtect(ulong frame) => protection.TryProtect(frame);

        public bool TryWriteEnable(ulong frame)
        {
            // Unprotect publishes one table page (a merge or an entry of the split table).
            if (paging.TableWriteCapacity < 2)
                return false;
            protection.Unprotect(frame);
            return true;
        }

        public void LoadRoot(ulong root) => paging.SetRoot(root);

        public void FlushTlb() => paging.FlushTlbBeforeNextEntry();

        public bool TryNoteTableWrite(ulong page) => paging.TryNoteTableWrite(page);
    }

    private sealed class PoolPages(HostPagePool pool) : IShadowPageSource
    {
        public GuestMemory Memory => pool.Memory;

        public int FreePages => pool.FreePages;

        public bool TryAllocate(out ulong address) => pool.TryAllocate(out address);

        public void Free(ulong address) => pool.Free(address);
    }
}
