using Iced.Intel;
using ParaVirt.Abi;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Cpu.Tests;

/// <summary>Trap emulation, interrupt delivery and the para hypercalls allocate nothing per operation.</summary>
public class AllocationTests : CpuFixture
{
    private static long AllocatedByRun(VirtualMachine vm, int operations)
    {
        vm.PrepareEntry(CodeAddress);
        vm.Registers.Rbx = (ulong)operations;
        long before = GC.GetAllocatedBytesForCurrentThread();
        VmStopReason stop = vm.Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(stop.IsCleanExit, Is.True, stop.Message);
        return allocated;
    }

    private static void AssertNoAllocationPerOperation(VirtualMachine vm)
    {
        AllocatedByRun(vm, 100); // JIT and first-use allocations
        // The least of three runs: the runtime itself may allocate once in a while on this thread
        // (a tiered-JIT promotion landing inside a run). An allocation per operation would show in
        // every run, 5,000 times over.
        long few = MinimumOfThree(() => AllocatedByRun(vm, 500));
        long many = MinimumOfThree(() => AllocatedByRun(vm, 5_500));
        Assert.That(many, Is.EqualTo(few), "5,000 more operations allocated more");
    }

    private static long MinimumOfThree(Func<long> measure) => Math.Min(measure(), Math.Min(measure(), measure()));

    [Test]
    public void EmulatingPrivilegedInstructionsAllocatesNothing()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Full, a =>
        {
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.cli();
            a.sti();
            a.mov(rax, cr3);
            a.mov(ecx, 0xC000_0100);
            a.rdmsr();
            a.@in(al, 0x71);       // the RTC's data port, closed in the bitmap: trap path
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
            AssertNoAllocationPerOperation(vm);
    }

    [Test]
    public void ParaTimersAndBlocksAllocateNothing()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Para, a =>
        {
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(edi, 1);
            Call(a, Hypercall.SetTimer);
            a.mov(edi, (uint)SchedOp.Block);
            a.xor(esi, esi);
            Call(a, Hypercall.SchedOp);
            a.mov(r12, SharedInfoAddress);
            a.mov(__byte_ptr[r12 + 1], 0);
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
            AssertNoAllocationPerOperation(vm);
    }
}
