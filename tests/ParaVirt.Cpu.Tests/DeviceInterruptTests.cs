using System.Threading;
using Iced.Intel;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Cpu.Tests;

/// <summary>Device completions raised on another host thread reach the guest: full mode as an IRQ vector, para mode as an event.</summary>
public class DeviceInterruptTests : CpuFixture
{
    [Test]
    public void AFullModeGuestHaltedWithInterruptsOnTakesADeviceIrq()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            a.xor(r15d, r15d);
            Label wait = a.CreateLabel();
            a.Label(ref wait);
            a.sti();
            a.hlt();
            a.test(r15, r15);
            a.jz(wait);
            a.mov(rax, r15);
            a.ret();
        });
        using (vm)
        {
            InstallHandler(vm, VirtualCpu.IrqVectorBase + 3, h => { h.add(r15, 7); h.sti(); h.iretq(); }, HandlerAddress);
            cpu.RegisterEventSource();
            using var raiser = new Timer(_ => cpu.Raise(3), null, 30, Timeout.Infinite);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo(7), stop.Message);
            Assert.That(cpu.Delivered, Is.EqualTo(1));
        }
    }

    [Test]
    public void AParaModeBlockWakesOnADeviceEvent()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(edi, (uint)SchedOp.Block);
            a.xor(esi, esi);
            Call(a, Hypercall.SchedOp);
            a.mov(r12, SharedInfoAddress);
            a.mov(rax, __qword_ptr[r12 + 8]);   // PendingEvents
            a.ret();
        });
        using (vm)
        {
            cpu.RegisterEventSource();
            using var raiser = new Timer(_ => cpu.Raise(5), null, 30, Timeout.Infinite);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo(1 << 5), stop.Message);
            Assert.That(vm.Exits.Total, Is.EqualTo(2), "block + shutdown");
        }
    }

    [Test]
    public void AnInterruptFrameThatWouldLeaveMemoryStopsTheVm()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            a.mov(rsp, 0x7000_0000UL);   // a stack outside RAM
            ArmPitOneShot(a, 10);
            a.sti();
            a.hlt();
            a.ud2();
        }, PitPorts);
        using (vm)
        {
            InstallHandler(vm, 0x20, h => { h.sti(); h.iretq(); }, HandlerAddress);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("cannot deliver vector 0x20").And.Contain("outside guest memory"));
        }
    }
}
