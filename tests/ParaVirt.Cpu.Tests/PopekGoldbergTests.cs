using Iced.Intel;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Cpu.Tests;

/// <summary>
/// The Popek-Goldberg hole of x86: at CPL3 popf silently ignores IF instead of trapping, and pushf
/// shows the real IF, not the virtual one. A full-mode guest that restores interrupts with popf
/// diverges; the para flavour (a store to the shared-info page) does not.
/// </summary>
public class PopekGoldbergTests : CpuFixture
{
    [Test]
    public void FullModeGuestThatRestoresInterruptsWithPopfNeverSeesItsTimerAgain()
    {
        // sti; pushf (saves "IF on"); cli; popf (meant to turn interrupts back on); then wait with a
        // periodic 1 ms PIT for up to 30 ms of spinning: on hardware r15 would count interrupts.
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            LoadIdtAndStartMillisecondTimer(a);
            a.sti();
            a.pushfq();
            a.mov(r12, __qword_ptr[rsp]);   // what pushf shows right after sti
            a.cli();
            a.pushfq();
            a.pop(rbx);                     // what pushf shows right after cli
            a.popfq();                      // silently keeps IF: no trap
            a.mov(r13, DataAddress);
            a.mov(__qword_ptr[r13], r12);
            a.mov(__qword_ptr[r13 + 8], rbx);
            a.rdtsc();
            a.mov(r14, rax);
            Label spin = a.CreateLabel();
            Label done = a.CreateLabel();
            a.Label(ref spin);
            a.test(r15, r15);
            a.jnz(done);
            a.rdtsc();
            a.sub(rax, r14);
            a.cmp(rax, 100_000_000);        // ~30+ ms of TSC at GHz rates
            a.jb(spin);
            a.Label(ref done);
            a.mov(rax, r15);
            a.ret();
        }, PitPorts);
        using (vm)
        {
            InstallHandler(vm, 0x20, h => { h.inc(r15); h.sti(); h.iretq(); }, HandlerAddress);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(stop.ExitCode, Is.EqualTo(0), "no timer interrupt after popf: the guest believes interrupts are on, the virtual IF is off");
            Assert.That(cpu.State.InterruptsEnabled, Is.False);
            Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(vm.Exits.ByInstruction().Sum(p => p.Value)), "popf never trapped: every trap was an emulated instruction");
            Assert.That(vm.Memory.TryRead(DataAddress, out ulong afterSti), Is.True);
            Assert.That(vm.Memory.TryRead(DataAddress + 8, out ulong afterCli), Is.True);
            Assert.That(afterSti & Registers.InterruptFlag, Is.EqualTo(afterCli & Registers.InterruptFlag),
                "pushf shows the real IF (the same after sti and after cli), never the virtual one");
        }
    }

    [Test]
    public void ParaGuestThatSavesAndRestoresTheEventMaskKeepsItsTimer()
    {
        // The same idea in para mode: save the mask, mask, restore the saved mask; a callback counts.
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, a => { });
        using (vm)
        {
            WriteCountingEventCallback(vm);
            long deadline = cpu.NowNanoseconds + 3_000_000;
            Assert.That(vm.Memory.TryWrite(CodeAddress, Assemble(a =>
            {
                a.xor(r15d, r15d);
                a.mov(rdi, HandlerAddress);
                Call(a, ParaVirt.Abi.Hypercall.SetEventCallback);
                a.mov(rbx, SharedInfoAddress);
                a.mov(__byte_ptr[rbx], 0);          // "sti"
                a.movzx(r12d, __byte_ptr[rbx]);     // "pushf": the saved mask (0)
                a.mov(__byte_ptr[rbx], 1);          // "cli"
                a.mov(__byte_ptr[rbx], r12b);       // "popf": restores the mask exactly
                a.mov(rdi, (ulong)deadline);
                Call(a, ParaVirt.Abi.Hypercall.SetTimer);
                Label spin = a.CreateLabel();
                a.Label(ref spin);
                a.pause();
                a.test(r15, r15);
                a.jz(spin);
                a.mov(rax, r15);
                a.ret();
            }, CodeAddress)), Is.True);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo(1), stop.Message);
        }
    }
}
