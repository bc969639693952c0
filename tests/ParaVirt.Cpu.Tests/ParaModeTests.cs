using System.Diagnostics;
using Iced.Intel;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Cpu.Tests;

/// <summary>The paravirtual replacements: shared-info event mask, PV clock, set_timer + sched_op block, the event callback.</summary>
public class ParaModeTests : CpuFixture
{
    [Test]
    public void IrqMaskInTheSharedInfoPageCostsNoExit()
    {
        const int Pairs = 100_000;
        var (vm, _) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(rbx, SharedInfoAddress);
            a.mov(ecx, Pairs);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(__byte_ptr[rbx], 1);   // EventMask = 1
            a.inc(rax);
            a.mov(__byte_ptr[rbx], 0);   // EventMask = 0
            a.cmp(__byte_ptr[rbx + 1], 0); // EventPending?
            a.dec(ecx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Exits.Total, Is.EqualTo(1), "only the shutdown hypercall");
        }
    }

    [Test]
    public unsafe void PvClockIsPublishedAndReadableWithoutExits()
    {
        const int Reads = 10_000;
        // Reads the TSC and the clock record in a loop; returns the last TSC in rax (low 31 bits are the exit code).
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(rbx, SharedInfoAddress + SharedInfo.PvClockOffset);
            a.mov(ecx, Reads);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(r8d, __dword_ptr[rbx]);
            a.rdtsc();
            a.mov(r9, __qword_ptr[rbx + 16]);
            a.dec(ecx);
            a.jnz(loop);
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.mov(r12, DataAddress);
            a.mov(__qword_ptr[r12], rax);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            long hostNow = cpu.NowNanoseconds;
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Exits.Total, Is.EqualTo(1), "clock reads cost no exit");
            Assert.That(vm.Memory.TryRead(SharedInfoAddress + SharedInfo.PvClockOffset, out PvClock clock), Is.True);
            Assert.That(clock.Version % 2, Is.EqualTo(0u));
            Assert.That(clock.Version, Is.GreaterThan(0u));
            Assert.That(clock.Flags & (byte)PvClockFlags.Valid, Is.Not.Zero);
            Assert.That(vm.Memory.TryRead(DataAddress, out ulong guestTsc), Is.True);
            ulong guestNs = Timekeeping.PvClockPublisher.Convert(clock, guestTsc);
            Assert.That((double)guestNs, Is.EqualTo((double)hostNow).Within(5_000_000), "the guest's PV clock agrees with the host's time within 5 ms");
        }
    }

    [Test]
    public void TimerSleepIsSetTimerPlusBlock()
    {
        const int Sleeps = 20;
        const long DelayNs = 100_000;
        // Each sleep: read the PV clock's system time (publication time: a lower bound of now) + the
        // delay as the deadline... simplest honest form: deadline = host time now + delay, passed in r12
        // and advanced per sleep by the guest after each wake from the same PV record.
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(r14d, Sleeps);
            a.mov(rbx, SharedInfoAddress);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(rdi, __qword_ptr[rbx + SharedInfo.PvClockOffset + 16]); // SystemTimeNs (refreshed by the host)
            a.add(rdi, (int)DelayNs);
            a.mov(r12, rdi);
            Call(a, Hypercall.SetTimer);
            a.mov(edi, (uint)SchedOp.Block);
            a.xor(esi, esi);
            Call(a, Hypercall.SchedOp);
            a.mov(__qword_ptr[rbx + 8], 0);   // PendingEvents = 0
            a.mov(__byte_ptr[rbx + 1], 0);    // EventPending = 0
            a.dec(r14d);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
        {
            var watch = Stopwatch.StartNew();
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Exits.Total, Is.EqualTo(2 * Sleeps + 1), "set_timer + block per sleep, plus shutdown");
            Assert.That(cpu.TimersArmed, Is.EqualTo(Sleeps));
        }
    }

    [Test]
    public void BlockWaitsForItsDeadline()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, a => { });
        using (vm)
        {
            long deadline = cpu.NowNanoseconds + 30_000_000; // 30 ms
            Assert.That(vm.Memory.TryWrite(CodeAddress, Assemble(a =>
            {
                a.mov(rdi, (ulong)deadline);
                Call(a, Hypercall.SetTimer);
                a.mov(edi, (uint)SchedOp.Block);
                a.xor(esi, esi);
                Call(a, Hypercall.SchedOp);
                a.ret(); // exit code = block's result
            }, CodeAddress)), Is.True);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo(1), stop.Message);
            Assert.That(cpu.NowNanoseconds, Is.GreaterThanOrEqualTo(deadline));
        }
    }

    [Test]
    public void TheEventCallbackIsEnteredAtAKickWhenUnmasked()
    {
        // Registers a callback, arms a timer 5 ms ahead, unmasks and spins until the callback ran.
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, a => { });
        using (vm)
        {
            WriteCountingEventCallback(vm);
            long deadline = cpu.NowNanoseconds + 5_000_000;
            Assert.That(vm.Memory.TryWrite(CodeAddress, Assemble(a =>
            {
                a.xor(r15d, r15d);
                a.mov(rdi, HandlerAddress);
                Call(a, Hypercall.SetEventCallback);
                a.mov(rdi, (ulong)deadline);
                Call(a, Hypercall.SetTimer);
                a.mov(rbx, SharedInfoAddress);
                a.mov(__byte_ptr[rbx], 0);
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
            Assert.That(cpu.Delivered, Is.EqualTo(1));
            Assert.That(vm.Exits[ExitReason.Interrupted], Is.GreaterThanOrEqualTo(1));
        }
    }
}
