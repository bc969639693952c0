using Iced.Intel;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

public class HypercallTests : KvmFixture
{
    [Test]
    public void NullHypercallReturnsTheHostsValue()
    {
        using var vm = CreateVm(a =>
        {
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.Null);
            a.ret(); // return value = exit code
        }, new VmOptions { MemorySize = 4UL << 20, NullHypercallValue = 0x5A });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(0x5A));
        Assert.That(vm.Exits[ExitReason.Hypercall], Is.EqualTo(2)); // Null + Shutdown from the exit stub
        Assert.That(vm.Hypercalls.GetStatistics((uint)ParaVirt.Abi.Hypercall.Null).Calls, Is.EqualTo(1));
    }

    [Test]
    public void SixArgumentsArriveIntact()
    {
        ulong[] seen = new ulong[6];
        using var vm = CreateVm(a =>
        {
            a.mov(rdi, 0x1111111111111111);
            a.mov(rsi, 0x2222222222222222);
            a.mov(rdx, 0x3333333333333333);
            a.mov(rcx, 0x4444444444444444); // System V 4th argument: the stub moves it to R10
            a.mov(r8, 0x5555555555555555);
            a.mov(r9, 0x6666666666666666);
            Hypercall(a, 64);
            a.ret();
        });
        vm.Hypercalls.Register(64, "capture", (VirtualMachine _, in HypercallArgs args) =>
        {
            seen[0] = args.Arg0; seen[1] = args.Arg1; seen[2] = args.Arg2;
            seen[3] = args.Arg3; seen[4] = args.Arg4; seen[5] = args.Arg5;
            return 7;
        });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.ExitCode, Is.EqualTo(7), stop.Message);
        Assert.That(seen, Is.EqualTo(new ulong[] { 0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444, 0x5555555555555555, 0x6666666666666666 }));
    }

    [Test]
    public void UnknownHypercallReturnsAnErrorAndTheGuestGoesOn()
    {
        using var vm = CreateVm(a =>
        {
            Hypercall(a, 99);           // nobody registered 99
            a.mov(rbx, rax);
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.GetVersion);
            a.cmp(rbx, (int)HypercallStatus.UnknownHypercall);
            var bad = a.CreateLabel();
            a.jne(bad);
            a.ret();                    // exit code = ABI version
            a.Label(ref bad);
            a.mov(eax, 0xBAD);
            a.ret();
        });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo((int)AbiVersion.Current));
        Assert.That(vm.Hypercalls.UnknownCalls, Is.EqualTo(1));
    }

    [Test]
    public void HypercallOutsideTheAllowListIsRefused()
    {
        using var vm = CreateVm(a =>
        {
            Hypercall(a, (uint)ParaVirt.Abi.Hypercall.Null);
            a.ret();
        }, new VmOptions { MemorySize = 4UL << 20, NullHypercallValue = 1 });
        vm.Hypercalls.Deny(ParaVirt.Abi.Hypercall.Null);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.ExitCode, Is.EqualTo((int)HypercallStatus.Denied), stop.Message);
        Assert.That(vm.Hypercalls.DeniedCalls, Is.EqualTo(1));
        Assert.That(vm.Hypercalls.GetStatistics((uint)ParaVirt.Abi.Hypercall.Null).Calls, Is.Zero);
    }
}
