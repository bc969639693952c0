using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm.Platform;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

/// <summary>Whatever a guest does, its VM stops with a clear reason and the host goes on.</summary>
public class HostileGuestTests : KvmFixture
{
    [Test]
    public void ATripleFaultStopsTheVm()
    {
        using var vm = CreateVm(a => { a.cli(); a.ret(); });
        // Break ring 0 (as a buggy hypervisor would): with no IDT gates, #GP becomes #NP, then
        // #DF, then a triple fault.
        Assert.That(vm.PhysicalMemory.TryFill(KvmPlatform.Idt, 4096, 0), Is.True);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.TripleFault), stop.Message);
        Assert.That(stop.Message, Does.Contain("triple fault"));
    }

    [Test]
    public void AWildJumpToUnmappedMemoryStopsTheVm()
    {
        using var vm = CreateVm(a => { a.mov(rax, 0x100000UL); a.jmp(rax); });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.StartWith("unhandled #PF(0x14) at RIP 0x100000: instruction fetch of 0x100000 (not mapped)"));
    }

    [Test]
    public void AJumpIntoRingZeroCodeStopsTheVm()
    {
        using var vm = CreateVm(a => { a.mov(rax, KvmPlatform.Trampolines); a.jmp(rax); });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.Contain("instruction fetch of 0x6000 (protection violation)"));
    }

    [Test]
    public void ANonCanonicalJumpStopsTheVm()
    {
        using var vm = CreateVm(a => { a.mov(rax, 0x8000_0000_0000_0000UL); a.jmp(rax); });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.Contain("#GP"));
    }

    [Test]
    public void ALoadBeyondGuestMemoryStopsTheVm()
    {
        using var vm = CreateVm(a => { a.mov(rbx, 4UL << 20); a.mov(rax, __qword_ptr[rbx]); a.ret(); });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.Contain("read of 0x400000 (not mapped)"));
    }

    [Test]
    public void AStoreIntoThePageTablesStopsTheVm()
    {
        using var vm = CreateVm(a => { a.mov(rbx, KvmPlatform.Pml4); a.mov(__qword_ptr[rbx], rax); a.ret(); });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.Contain("write of 0x7000 (protection violation)"));
    }

    [Test]
    public void AHypercallWithAnAddressOutsideGuestMemoryGetsBadAddress()
    {
        using var vm = CreateVm(a =>
        {
            a.mov(rdi, 0xFFFF_FFFF_FFFF_FFF0UL); // address + length wraps
            a.mov(esi, 0x20);
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.ConsoleWrite);
            a.ret();
        });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo((int)HypercallStatus.BadAddress));
    }

    [Test]
    public void AHypercallWithAHugeLengthGetsTooLarge()
    {
        using var vm = CreateVm(a =>
        {
            a.mov(rdi, CodeAddress);
            a.mov(rsi, ulong.MaxValue);
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.ConsoleWrite);
            a.ret();
        });
        Assert.That(RunToStop(vm).ExitCode, Is.EqualTo((int)HypercallStatus.TooLarge));
    }

    [Test]
    public void ASpinningGuestIsStoppedByTheWatchdog()
    {
        using var vm = CreateVm(a =>
        {
            var spin = a.CreateLabel();
            a.Label(ref spin);
            a.jmp(spin);
        });
        VmStopReason stop = vm.Run(TimeSpan.FromMilliseconds(200));
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.Timeout));
        Assert.That(stop.Message, Does.Contain("200 ms"));
        Assert.That(vm.Exits[ExitReason.Interrupted], Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public void AStopRequestFromAnotherThreadEndsASpinningGuest()
    {
        using var vm = CreateVm(a =>
        {
            var spin = a.CreateLabel();
            a.Label(ref spin);
            a.jmp(spin);
        });
        Task<VmStopReason> run = vm.RunAsync(TimeSpan.FromSeconds(30));
        Thread.Sleep(50);
        vm.RequestStop("test says stop");
        Assert.That(run.Wait(TimeSpan.FromSeconds(10)), Is.True, "the vCPU left KVM_RUN");
        Assert.That(run.Result.Kind, Is.EqualTo(VmStopKind.StopRequested));
    }

    [Test]
    public void AGuestCannotFakeATrapThroughTheTrapPort()
    {
        using var vm = CreateVm(a => { a.mov(eax, 1); a.@out((byte)PlatformPorts.Trap, al); a.ret(); });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.StartWith($"unhandled #GP(0x0) at RIP 0x{CodeAddress + 5:x}"));
    }

    [Test]
    public void AShutdownReasonOutsideGuestMemoryIsReportedNotRead()
    {
        using var vm = CreateVm(a =>
        {
            a.mov(edi, 3);
            a.mov(rsi, 0x7FFF_FFFF_0000UL);
            a.mov(edx, 16);
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.Shutdown);
        });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown));
        Assert.That(stop.ExitCode, Is.EqualTo(3));
        Assert.That(stop.Message, Does.Contain("not readable"));
    }

    [Test]
    public void AMulticallListInTheIdtIsRefusedAndTheIdtStaysIntact()
    {
        // The host writes each entry's result into the list: aimed at the IDT, that would let the
        // guest rewrite its own ring-0 gates.
        using var vm = CreateVm(a =>
        {
            a.mov(edi, (uint)KvmPlatform.Idt);
            a.mov(esi, 1);
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.Multicall);
            a.ret();
        });
        byte[] idt = new byte[4096];
        Assert.That(vm.PhysicalMemory.TryRead(KvmPlatform.Idt, idt), Is.True);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.ExitCode, Is.EqualTo((int)HypercallStatus.BadAddress), stop.Message);
        byte[] after = new byte[4096];
        Assert.That(vm.PhysicalMemory.TryRead(KvmPlatform.Idt, after), Is.True);
        Assert.That(after, Is.EqualTo(idt));
    }

    [TestCase(KvmPlatform.Pml4)]
    [TestCase(KvmPlatform.Gdt)]
    [TestCase(KvmPlatform.Ring0StackTop - 64)]
    public void PlatformPagesCannotBeReadThroughAHypercall(ulong address)
    {
        using var vm = CreateVm(a =>
        {
            a.mov(rdi, address);
            a.mov(esi, 16);
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.ConsoleWrite);
            a.ret();
        });
        Assert.That(RunToStop(vm).ExitCode, Is.EqualTo((int)HypercallStatus.BadAddress));
        Assert.That(vm.Console.BytesWritten + vm.Console.BytesDropped, Is.Zero);
    }

    [Test]
    public void TheGuestPagesRemainReachableThroughHypercalls()
    {
        // The start-info page (read-only to the guest) may be named in a hypercall: it is the guest's own.
        using var vm = CreateVm(a =>
        {
            a.mov(rsi, 8);
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.ConsoleWrite); // rdi still holds the start-info page
            a.ret();
        });
        Assert.That(RunToStop(vm).ExitCode, Is.EqualTo(8));
    }
}
