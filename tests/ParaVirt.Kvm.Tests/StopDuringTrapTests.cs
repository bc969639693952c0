using Iced.Intel;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm.Platform;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

/// <summary>
/// A stop or kick that lands while a trap is handled never leaves the vCPU in ring 0: the host
/// sees only the guest's state, the next run returns to CPL3, and every new entry starts at CPL3
/// with the user selectors.
/// </summary>
public class StopDuringTrapTests : KvmFixture
{
    /// <summary>Where the selector-reporting guest is written.</summary>
    private const ulong ReporterAddress = CodeAddress + 0x1000;

    /// <summary>
    /// The privilege levels in CS and SS (RPL = CPL for CS) that a CPL3 guest reports. The selector
    /// values themselves may be the host's (kvm_pvm runs the guest on the host's user segments).
    /// </summary>
    private const int UserSelectors = (3 << 16) | 3;

    /// <summary><c>cli</c> forever: a burst of traps.</summary>
    private static void TrapBurst(Assembler a)
    {
        Label loop = a.CreateLabel();
        a.Label(ref loop);
        a.cli();
        a.jmp(loop);
    }

    /// <summary>Returns (CS &amp; 3) | (SS &amp; 3) &lt;&lt; 16 as the exit code: CPL3 reports 0x30003, ring 0 reports 0.</summary>
    private static void ReportSelectors(Assembler a)
    {
        a.xor(eax, eax);
        a.mov(ax, ss);
        a.shl(eax, 16);
        a.mov(cx, cs);
        a.mov(ax, cx);
        a.and(eax, 0x0003_0003);
        a.ret();
    }

    private static int BurstLength => Assemble(TrapBurst).Length;

    /// <summary>Skips the one-byte cli; optionally kicks the vCPU from another thread while the trap is handled.</summary>
    private sealed class CliSkipper(bool kick) : ITrapHandler
    {
        private long _traps;

        public long Traps => Interlocked.Read(ref _traps);

        public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage)
        {
            stopMessage = null;
            if (exit.Vector != (byte)ExceptionVector.GeneralProtection)
                return false;
            registers.Rip += 1;
            Interlocked.Increment(ref _traps);
            if (kick)
                Task.Run(vm.Kick).Wait(); // lands before the return to the guest: KVM_RUN returns at once
            return true;
        }
    }

    /// <summary>Stops the VM at the first Interrupted exit.</summary>
    private sealed class StopOnInterrupted : IResumeHook
    {
        public VmStopReason? BeforeResume(VirtualMachine vm, in VcpuExit exit, ref Registers registers) =>
            exit.Reason == ExitReason.Interrupted ? new VmStopReason(VmStopKind.StopRequested, -1, "stopped at the kick") : null;

        public void RunEnded(VirtualMachine vm)
        {
        }
    }

    private static void AssertInGuestCode(VirtualMachine vm, ulong start, int length)
    {
        ulong rip = vm.Registers.Rip;
        Assert.That(rip, Is.Not.InRange(KvmPlatform.Trampolines, KvmPlatform.Trampolines + 4095), $"RIP 0x{rip:x} is in the ring-0 trampolines");
        Assert.That(rip, Is.InRange(start, start + (ulong)length - 1), $"RIP 0x{rip:x} is the guest's");
    }

    /// <summary>Runs the selector reporter on a fresh entry and returns what it saw.</summary>
    private static int SelectorsOfANewEntry(VirtualMachine vm)
    {
        vm.PrepareEntry(ReporterAddress);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        return stop.ExitCode;
    }

    private static VirtualMachine CreateBurstVm(ITrapHandler handler)
    {
        var vm = CreateVm(TrapBurst);
        Assert.That(vm.Memory.TryWrite(ReporterAddress, Assemble(ReportSelectors, ReporterAddress)), Is.True);
        vm.TrapHandler = handler;
        return vm;
    }

    [Test]
    public void AStopRightAfterATrapReturnLeavesTheGuestStateAndTheNextEntryRunsAtCpl3()
    {
        // The kick lands while the trap is handled, so the return to the guest's KVM_RUN comes
        // back at once with EINTR: the vCPU is still at the trampoline's tail, in ring 0.
        using var vm = CreateBurstVm(new CliSkipper(kick: true));
        vm.ResumeHook = new StopOnInterrupted();
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Message, Is.EqualTo("stopped at the kick"));
        Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(1));
        Assert.That(vm.Exits[ExitReason.Interrupted], Is.EqualTo(1));
        AssertInGuestCode(vm, CodeAddress, BurstLength);

        vm.ResumeHook = null;
        Assert.That(SelectorsOfANewEntry(vm), Is.EqualTo(UserSelectors), "CS and SS of a new entry are the user selectors (CPL3)");
    }

    [Test]
    public void AKickRightAfterEveryTrapReturnResumesTheGuestExactly()
    {
        // Ten clis, each followed by a kick that interrupts the return: the guest finishes, each
        // trap is reported once, each kick is one Interrupted exit.
        var handler = new CliSkipper(kick: true);
        using var vm = CreateVm(a =>
        {
            a.mov(eax, 32);
            for (int i = 0; i < 10; i++)
            {
                a.cli();
                a.inc(eax);
            }
            a.ret();
        });
        vm.TrapHandler = handler;
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(42));
        Assert.That(handler.Traps, Is.EqualTo(10));
        Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(10));
        Assert.That(vm.Exits[ExitReason.Interrupted], Is.EqualTo(10));
    }

    [Test]
    public void StopsAndWatchdogsDuringABurstOfTrapsNeverLeaveTheVcpuInRing0()
    {
        var handler = new CliSkipper(kick: false);
        using var vm = CreateBurstVm(handler);
        for (int round = 0; round < 150; round++)
        {
            vm.PrepareEntry(CodeAddress);
            VmStopReason stop;
            if (round % 2 == 0)
            {
                long before = handler.Traps;
                Task<VmStopReason> run = vm.RunAsync(TimeSpan.FromSeconds(10));
                Assert.That(SpinWait.SpinUntil(() => handler.Traps > before + round % 7, 5000), Is.True, "the guest traps");
                vm.RequestStop("round over");
                stop = run.GetAwaiter().GetResult();
                Assert.That(stop.Message, Is.EqualTo("round over"));
            }
            else
            {
                stop = vm.Run(TimeSpan.FromMilliseconds(1 + round % 3));
                Assert.That(stop.Kind, Is.EqualTo(VmStopKind.Timeout), stop.Message);
            }
            AssertInGuestCode(vm, CodeAddress, BurstLength);
            Assert.That(SelectorsOfANewEntry(vm), Is.EqualTo(UserSelectors), $"round {round}: a new entry runs at CPL3");
        }
    }

    [Test]
    public void AHandlerResumingAtANonCanonicalRipStopsTheVmCleanly()
    {
        using var vm = CreateVm(a => { a.cli(); a.ret(); });
        vm.TrapHandler = new RipSetter(0x0000_8000_0000_0000);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestError), stop.Message);
        Assert.That(stop.Message, Does.Contain("RIP 0x800000000000, a non-canonical address"));
        Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(1), "the guest never ran again (a ring-0 fault would exit again)");
        Assert.That(SelectorsOfANewEntryAfterWriting(vm), Is.EqualTo(UserSelectors));
    }

    [Test]
    public void AHandlerResumingInThePlatformPagesStopsTheVmCleanly()
    {
        using var vm = CreateVm(a => { a.cli(); a.ret(); });
        vm.TrapHandler = new RipSetter(KvmPlatform.Trampolines);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestError), stop.Message);
        Assert.That(stop.Message, Does.Contain("RIP 0x6000, outside the guest's pages"));
        Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(1));
    }

    [Test]
    public void AHandlerResumingWithANonCanonicalRspStopsTheVmCleanly()
    {
        using var vm = CreateVm(a => { a.cli(); a.ret(); });
        vm.TrapHandler = new RspSetter(0x1234_0000_0000_0000);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestError), stop.Message);
        Assert.That(stop.Message, Does.Contain("RSP 0x1234000000000000, a non-canonical address"));
        Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(1));
    }

    private static int SelectorsOfANewEntryAfterWriting(VirtualMachine vm)
    {
        Assert.That(vm.Memory.TryWrite(ReporterAddress, Assemble(ReportSelectors, ReporterAddress)), Is.True);
        return SelectorsOfANewEntry(vm);
    }

    /// <summary>Handles the first trap by pointing the guest at <paramref name="rip"/>; refuses any other.</summary>
    private sealed class RipSetter(ulong rip) : ITrapHandler
    {
        private bool _done;

        public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage)
        {
            stopMessage = _done ? $"a second trap (vector {exit.Vector} at 0x{exit.Rip:x})" : null;
            if (_done)
                return false;
            _done = true;
            registers.Rip = rip;
            return true;
        }
    }

    /// <summary>Handles the first trap by skipping the cli and setting RSP; refuses any other.</summary>
    private sealed class RspSetter(ulong rsp) : ITrapHandler
    {
        private bool _done;

        public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage)
        {
            stopMessage = _done ? $"a second trap (vector {exit.Vector} at 0x{exit.Rip:x})" : null;
            if (_done)
                return false;
            _done = true;
            registers.Rip += 1;
            registers.Rsp = rsp;
            return true;
        }
    }
}
