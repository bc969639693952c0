using ParaVirt.Core.Bus;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

/// <summary>The run loop, exit dispatch and hypercall dispatch allocate nothing per exit.</summary>
public class AllocationTests : KvmFixture
{
    private static long AllocatedByRun(VirtualMachine vm, int exits)
    {
        vm.PrepareEntry(CodeAddress);
        vm.Registers.Rbx = (ulong)exits;
        long before = GC.GetAllocatedBytesForCurrentThread();
        VmStopReason stop = vm.Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(stop.IsCleanExit, Is.True, stop.Message);
        return allocated;
    }

    private static void AssertNoAllocationPerExit(VirtualMachine vm)
    {
        AllocatedByRun(vm, 100); // JIT and first-use allocations
        // The least of three runs: the runtime itself may allocate once in a while on this thread
        // (a tiered-JIT promotion landing inside a run). An allocation per exit would show in every
        // run, 10,000 times over.
        long few = MinimumOfThree(() => AllocatedByRun(vm, 1_000));
        long many = MinimumOfThree(() => AllocatedByRun(vm, 11_000));
        Assert.That(many, Is.EqualTo(few), "10,000 more exits allocated more");
    }

    private static long MinimumOfThree(Func<long> measure) => Math.Min(measure(), Math.Min(measure(), measure()));

    [Test]
    public void HypercallExitsAllocateNothing()
    {
        using var vm = CreateVm(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.Null);
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });
        AssertNoAllocationPerExit(vm);
    }

    [Test]
    public void PortIoExitsAllocateNothing()
    {
        using var vm = CreateVm(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.@out(0x80, al);
            a.@in(al, 0x80);
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        }, new VmOptions { MemorySize = 4UL << 20, OpenPorts = [0x80] });
        vm.PortBus.Register(0x80, 1, new Latch());
        AssertNoAllocationPerExit(vm);
    }

    private sealed class Latch : IBusDevice
    {
        private byte _value;

        public string Name => "latch";

        public void Read(ulong offset, Span<byte> data) => data[0] = _value;

        public void Write(ulong offset, ReadOnlySpan<byte> data) => _value = data[0];
    }
}
