using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;
using ParaVirt.Vmm;

namespace ParaVirt.Mmu.Tests;

/// <summary>Splitting and merging the identity map's 2 MiB RAM pages, on the fake engine (its layout is the KVM platform's).</summary>
public class IdentityMapProtectionTests
{
    private const ulong Directory = 0x9000;

    private static (VirtualMachine Vm, HostPagePool Pool, FakeEngine.IdleVcpu Vcpu, IdentityMapProtection Protection) Create(ulong privateSize = 1UL << 20)
    {
        var vm = MachineBuilder.Create(new FakeEngine()).WithVmOptions(new VmOptions { MemorySize = 8UL << 20, PrivateMemorySize = privateSize }).Build().Vm;
        var pool = new HostPagePool(vm.GetVmFeature<IHostPrivateMemory>()!.PrivateMemory!);
        var vcpu = vm.GetVcpuFeature<FakeEngine.IdleVcpu>()!;
        return (vm, pool, vcpu, new IdentityMapProtection(vm.PhysicalMemory, vm.Layout, pool, vcpu));
    }

    private static ulong Read(GuestMemory memory, ulong address) => memory.TryRead(address, out ulong value) ? value : throw new InvalidOperationException();

    [Test]
    public void ProtectingAFrameSplitsItsTwoMegabytesWithOnlyThatFrameReadOnly()
    {
        var (vm, pool, vcpu, protection) = Create();
        using var _ = vm;
        Assert.That(protection.TryProtect(0x401000), Is.True);
        ulong pde = Read(vm.PhysicalMemory, Directory + 2 * 8);
        ulong table = pde & PageTableEntry.FrameMask;
        Assert.That(pool.Contains(table), Is.True, "the split table comes from host-private memory");
        Assert.That(pde & 0xFFF, Is.EqualTo(7UL), "present, writable, user, not large");
        Assert.That(Read(pool.Memory, table + 0 * 8), Is.EqualTo(0x400000UL | 7));
        Assert.That(Read(pool.Memory, table + 1 * 8), Is.EqualTo(0x401000UL | 5), "read-only, user");
        Assert.That(Read(pool.Memory, table + 511 * 8), Is.EqualTo(0x5FF000UL | 7));
        Assert.That(vcpu.NotedTablePages, Is.EquivalentTo(new[] { table, Directory }));
        Assert.That(protection.IsProtected(0x401000) && !protection.IsProtected(0x402000), Is.True);
    }

    [Test]
    public void TheLastUnprotectMergesTheTwoMegabytePageBackAndFreesTheTable()
    {
        var (vm, pool, _, protection) = Create();
        using var __ = vm;
        int free = pool.FreePages;
        Assert.That(protection.TryProtect(0x401000) && protection.TryProtect(0x402000) && protection.TryProtect(0x401000), Is.True);
        Assert.That(pool.FreePages, Is.EqualTo(free - 1), "one table per 2 MiB");
        protection.Unprotect(0x401000);
        Assert.That(protection.IsProtected(0x401000), Is.True, "counted: protected twice");
        protection.Unprotect(0x401000);
        ulong table = Read(vm.PhysicalMemory, Directory + 2 * 8) & PageTableEntry.FrameMask;
        Assert.That(Read(pool.Memory, table + 8), Is.EqualTo(0x401000UL | 7), "writable again, still split for 0x402000");
        protection.Unprotect(0x402000);
        Assert.That(Read(vm.PhysicalMemory, Directory + 2 * 8), Is.EqualTo(0x400000UL | 0x87), "a 2 MiB user read-write page again");
        Assert.That(pool.FreePages, Is.EqualTo(free));
        Assert.That(protection.SplitRegions, Is.Zero);
        Assert.Throws<InvalidOperationException>(() => protection.Unprotect(0x402000));
    }

    [Test]
    public void AnExhaustedPoolRefusesAndChangesNothing()
    {
        var (vm, pool, _, protection) = Create(4096);
        using var _ = vm;
        Assert.That(protection.TryProtect(0x200000), Is.True);
        Assert.That(protection.TryProtect(0x400000), Is.False, "a second 2 MiB page needs a second table");
        Assert.That(Read(vm.PhysicalMemory, Directory + 2 * 8), Is.EqualTo(0x400000UL | 0x87));
        Assert.That(protection.IsProtected(0x400000), Is.False);
    }

    [Test]
    public void FramesOutsideGuestRamAreRefused()
    {
        var (vm, _, _, protection) = Create();
        using var _ = vm;
        Assert.Throws<ArgumentOutOfRangeException>(() => protection.TryProtect(0x10000), "a platform page");
        Assert.Throws<ArgumentOutOfRangeException>(() => protection.TryProtect(8UL << 20), "past RAM");
        Assert.Throws<ArgumentOutOfRangeException>(() => protection.TryProtect(0x400800), "not a frame");
    }

    [Test]
    public void ProtectAndUnprotectAllocateNothing()
    {
        var (vm, _, vcpu, protection) = Create();
        using var _ = vm;
        protection.TryProtect(0x401000);
        protection.Unprotect(0x401000);
        vcpu.SimulateEntry();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++)
        {
            protection.TryProtect(0x401000);
            protection.TryProtect(0x402000);
            protection.Unprotect(0x401000);
            protection.Unprotect(0x402000);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
