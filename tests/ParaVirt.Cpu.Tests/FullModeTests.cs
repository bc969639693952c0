using Iced.Intel;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Cpu.Tests;

/// <summary>Trap-and-emulate of privileged instructions by a real CPL3 guest, with exact exit counts.</summary>
public class FullModeTests : CpuFixture
{
    [Test]
    public void IrqMaskCostsTwoTrapsPerPair()
    {
        const int Pairs = 100;
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(ecx, Pairs);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.cli();
            a.inc(rax);
            a.sti();
            a.dec(ecx);
            a.jnz(loop);
            a.mov(eax, 0);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(2 * Pairs));
            Assert.That(vm.Exits.Total, Is.EqualTo(2 * Pairs + 1), "2 traps per pair plus the shutdown hypercall");
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Cli), Is.EqualTo(Pairs));
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Sti), Is.EqualTo(Pairs));
            Assert.That(cpu.State.InterruptsEnabled, Is.True);
        }
    }

    [Test]
    public void ControlRegistersAndDescriptorTablesAreVirtual()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rax, CodeAddress + 0x30000); // an empty PML4 in guest RAM: the shadow MMU accepts it
            a.mov(cr3, rax);
            a.mov(rbx, cr3);
            a.mov(rax, cr0);
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            a.lgdt(__[rcx]);
            a.invlpg(__[rbx]);
            a.mov(rax, rbx);
            a.ret();
        });
        using (vm)
        {
            WriteIdtr(vm, 0x345000, 0xFFF);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo((long)CodeAddress + 0x30000), stop.Message);
            Assert.That(cpu.State.Cr3, Is.EqualTo(CodeAddress + 0x30000));
            Assert.That(cpu.State.IdtBase, Is.EqualTo(0x345000));
            Assert.That(cpu.State.IdtLimit, Is.EqualTo(0xFFF));
            Assert.That(cpu.State.GdtBase, Is.EqualTo(0x345000));
            Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(6), "mov cr3, mov from cr3, mov from cr0, lidt, lgdt, invlpg");
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Invlpg), Is.EqualTo(1));
        }
    }

    [Test]
    public void GrantedMsrsReadAndWriteVirtually()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(ecx, 0xC000_0100); // FS_BASE, granted read-write
            a.mov(eax, 0x5678);
            a.mov(edx, 0x1234);
            a.wrmsr();
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.rdmsr();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.shr(rax, 16);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(stop.ExitCode, Is.EqualTo(unchecked((int)(0x0000_1234_0000_5678UL >> 16))));
            Assert.That(cpu.Msrs.TryRead(0xC000_0100, out ulong v) && v == 0x0000_1234_0000_5678UL, Is.True);
        }
    }

    [Test]
    public void PortIoThatTheBitmapDeniesIsEmulatedAgainstThePortBus()
    {
        // The PIT's ports are not opened: every access traps (#GP) and is emulated against the bus.
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(al, 0x34);
            a.@out(0x43, al);      // channel 0, lobyte/hibyte, mode 2
            a.mov(al, 0xFF);
            a.@out(0x40, al);
            a.@out(0x40, al);
            a.mov(al, 0x00);
            a.@out(0x43, al);      // latch channel 0
            a.xor(eax, eax);
            a.@in(al, 0x40);
            a.mov(ah, al);
            a.@in(al, 0x40);       // high byte in al, low byte in ah
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Out), Is.EqualTo(4));
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.In), Is.EqualTo(2));
            Assert.That(stop.ExitCode & 0xFF, Is.GreaterThan(0), "the latched count's high byte: the counter runs down from 0xFFFF");
            Assert.That(cpu.Pit!.Writes, Is.EqualTo(4));
        }
    }

    [Test]
    public void PitTimerInterruptIsDeliveredThroughTheVirtualIdtAtHlt()
    {
        const int Sleeps = 20;
        // Per sleep: program the PIT for 100 us (3 outs, through KVM), sti, hlt (delivery), the
        // handler's sti;iretq (one trap), cli. The handler counts in r15.
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            a.xor(r15d, r15d);
            a.mov(r14d, Sleeps);
            Label loop = a.CreateLabel();
            Label wait = a.CreateLabel();
            a.Label(ref loop);
            a.mov(r13, r15);
            ArmPitOneShot(a, 119);  // 119 ticks of 838 ns = 100 us
            a.sti();
            a.Label(ref wait);
            a.hlt();
            a.cmp(r15, r13);
            a.je(wait);
            a.cli();
            a.dec(r14d);
            a.jnz(loop);
            a.mov(rax, r15);
            a.ret();
        }, PitPorts);
        using (vm)
        {
            InstallHandler(vm, 0x20, h => { h.inc(r15); h.sti(); h.iretq(); }, HandlerAddress);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(stop.ExitCode, Is.EqualTo(Sleeps), "one interrupt per sleep");
            Assert.That(cpu.Delivered, Is.EqualTo(Sleeps));
            Assert.That(vm.Exits[ExitReason.PortIo], Is.EqualTo(3 * Sleeps));
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Hlt), Is.EqualTo(Sleeps));
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Sti), Is.EqualTo(2 * Sleeps), "the loop's sti and the handler's sti;iretq");
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Iretq), Is.EqualTo(Sleeps));
            long perSleep = (vm.Exits.Total - 2) / Sleeps;
            Assert.That(perSleep, Is.GreaterThanOrEqualTo(4));
            // A deadline kick may land while the guest runs with interrupts on (between sti and hlt):
            // it is an Interrupted exit that delivers nothing (the sti shadow). Everything else is exact.
            Assert.That(vm.Exits.Total - vm.Exits[ExitReason.Interrupted], Is.EqualTo(7 * Sleeps + 2), "lidt + 7 per sleep + shutdown");
            Assert.That(vm.Exits[ExitReason.Interrupted], Is.LessThanOrEqualTo(Sleeps));
        }
    }

    [Test]
    public void ATimerInterruptReachesARunningGuestThroughAKick()
    {
        // Periodic PIT (mode 2, ~1 ms); the guest spins with interrupts on until 5 interrupts arrived.
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            LoadIdtAndStartMillisecondTimer(a);
            a.sti();
            Label spin = a.CreateLabel();
            a.Label(ref spin);
            a.pause();
            a.cmp(r15, 5);
            a.jb(spin);
            a.cli();
            a.mov(rax, r15);
            a.ret();
        }, PitPorts);
        using (vm)
        {
            InstallHandler(vm, 0x20, h => { h.inc(r15); h.sti(); h.iretq(); }, HandlerAddress);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(stop.ExitCode, Is.GreaterThanOrEqualTo(5));
            Assert.That(vm.Exits[ExitReason.Interrupted], Is.GreaterThanOrEqualTo(1), "delivered at kicks");
            Assert.That(cpu.Kicks, Is.GreaterThanOrEqualTo(1));
        }
    }
}
