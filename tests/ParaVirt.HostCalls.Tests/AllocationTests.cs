using ParaVirt.Abi;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.HostCalls;
using ParaVirt.Vmm;

namespace ParaVirt.HostCalls.Tests;

/// <summary>What a host call allocates on the host.</summary>
public class AllocationTests
{
    private static long AllocatedBy(HostCallDispatcher dispatcher, byte[] request, byte[] response, int calls)
    {
        dispatcher.Dispatch(request, response); // warm up: JIT, first-call caches
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++)
            dispatcher.Dispatch(request, response);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Test]
    public void AnIntegerCallAllocatesNothing()
    {
        HostCallDispatcher dispatcher = TestFunctions.Create().CreateDispatcher();
        Assert.That(AllocatedBy(dispatcher, Messages.Request("add", 2L, 40L), new byte[64], 1000), Is.Zero);
        Assert.That(AllocatedBy(dispatcher, Messages.Request("sum3", -5L, 6UL, 7), new byte[64], 1000), Is.Zero);
        Assert.That(AllocatedBy(dispatcher, Messages.Request("not", false), new byte[64], 1000), Is.Zero);
    }

    [Test]
    public void ErrorsFoundBeforeTheCallAllocateNothing()
    {
        HostCallDispatcher dispatcher = TestFunctions.Create().CreateDispatcher();
        Assert.That(AllocatedBy(dispatcher, Messages.Request("missing", 1L), new byte[64], 1000), Is.Zero, "unknown function");
        Assert.That(AllocatedBy(dispatcher, Messages.Request("add", 1L), new byte[64], 1000), Is.Zero, "wrong count");
        Assert.That(AllocatedBy(dispatcher, Messages.Request("add", 1L, true), new byte[64], 1000), Is.Zero, "wrong type");
    }

    [Test]
    public void AStringCallAllocatesItsStrings()
    {
        HostCallDispatcher dispatcher = TestFunctions.Create().CreateDispatcher();
        long bytes = AllocatedBy(dispatcher, Messages.Request("greet", "guest"), new byte[64], 100);
        TestContext.Out.WriteLine($"greet(\"guest\"): {bytes / 100} bytes per call");
        Assert.That(bytes / 100, Is.InRange(1, 256), "the argument and the result string, not buffers");
    }

    [Test]
    public void AnIntegerCallThroughTheHypercallAllocatesNothing()
    {
        using Machine machine = MachineBuilder.Create(new FakeEngine()).WithMemory(4UL << 20).Build();
        VirtualMachine vm = machine.Vm;
        TestFunctions.Create().Attach(vm);
        byte[] request = Messages.Request("add", 2L, 40L);
        vm.Memory.TryWrite(0x300000, request);
        var args = new HypercallArgs(0x300000, (ulong)request.Length, 0x310000, 64);
        Assert.That(vm.Hypercalls.Dispatch(vm, (ulong)Hypercall.HostCall, args), Is.EqualTo(3));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
            vm.Hypercalls.Dispatch(vm, (ulong)Hypercall.HostCall, args);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
