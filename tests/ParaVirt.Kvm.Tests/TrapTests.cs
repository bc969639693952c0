using Iced.Intel;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

/// <summary>Privileged instructions at CPL3 trap to the host with the right vector and RIP.</summary>
public class TrapTests : KvmFixture
{
    /// <summary>A handler that records the trap and skips the instruction (length from the test).</summary>
    private sealed class SkippingHandler(int length) : ITrapHandler
    {
        public List<(byte Vector, uint ErrorCode, ulong Rip)> Traps { get; } = [];

        public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage)
        {
            Traps.Add((exit.Vector, exit.ErrorCode, exit.Rip));
            registers.Rip += (ulong)length;
            stopMessage = null;
            return true;
        }
    }

    private static IEnumerable<TestCaseData> PrivilegedInstructions()
    {
        yield return new TestCaseData((Action<Assembler>)(a => a.cli()), 1).SetName("cli traps with #GP");
        yield return new TestCaseData((Action<Assembler>)(a => a.sti()), 1).SetName("sti traps with #GP");
        yield return new TestCaseData((Action<Assembler>)(a => a.hlt()), 1).SetName("hlt traps with #GP");
        yield return new TestCaseData((Action<Assembler>)(a => a.mov(cr3, rax)), 3).SetName("mov cr3 traps with #GP");
        yield return new TestCaseData((Action<Assembler>)(a => a.wrmsr()), 2).SetName("wrmsr traps with #GP");
        yield return new TestCaseData((Action<Assembler>)(a => a.rdmsr()), 2).SetName("rdmsr traps with #GP");
    }

    [TestCaseSource(nameof(PrivilegedInstructions))]
    public void PrivilegedInstructionTrapsAndResumesAfterIt(Action<Assembler> instruction, int length)
    {
        var handler = new SkippingHandler(length);
        // mov eax, 41 (5 bytes) at CodeAddress, then the instruction, then inc eax; ret.
        using var vm = CreateVm(a =>
        {
            a.mov(eax, 41);
            instruction(a);
            a.inc(eax);
            a.ret();
        });
        vm.TrapHandler = handler;
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(42), "the guest resumed after the instruction");
        Assert.That(handler.Traps, Is.EqualTo(new[] { ((byte)ExceptionVector.GeneralProtection, 0u, CodeAddress + 5) }));
        Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(1));
    }

    [Test]
    public void WithoutAHandlerAPrivilegedInstructionStopsTheVmNamingIt()
    {
        using var vm = CreateVm(a => { a.nop(); a.cli(); a.ret(); });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Is.EqualTo($"unhandled #GP(0x0) at RIP 0x{CodeAddress + 1:x} executing 'cli'"));
    }

    [Test]
    public void AnInvalidOpcodeTrapsAsUndefined()
    {
        using var vm = CreateVm(a => { a.ud2(); });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.StartWith($"unhandled #UD at RIP 0x{CodeAddress:x}"));
    }

    [Test]
    public void AHandlerCanChangeGeneralRegistersAndTheyReachTheGuest()
    {
        using var vm = CreateVm(a => { a.mov(eax, 1); a.cli(); a.ret(); });
        vm.TrapHandler = new RegisterWritingHandler();
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.ExitCode, Is.EqualTo(0x77), stop.Message);
    }

    private sealed class RegisterWritingHandler : ITrapHandler
    {
        public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage)
        {
            registers.Rax = 0x77;
            registers.Rip += 1;
            stopMessage = null;
            return true;
        }
    }
}
