using Iced.Intel;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm.Platform;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Cpu.Tests;

/// <summary>Hostile guests: each gets a defined outcome and the host stays up.</summary>
public class HostileGuestTests : CpuFixture
{
    [Test]
    public void UndecodableBytesAtTheTrapRipStopTheVmNamingThem()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a => { a.db(0x06); a.ret(); }); // push es: invalid in 64-bit mode (#UD)
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("undecodable bytes 06C3"));
            Assert.That(cpu.Emulator!.Undecodable, Is.EqualTo(1));
        }
    }

    [Test]
    public void UndecodableBytesAreReflectedWhenTheGuestHasAHandler()
    {
        // The #UD handler skips the bad byte and returns; the guest then exits with 7.
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            a.db(0x06);
            a.mov(eax, 7);
            a.ret();
        });
        using (vm)
        {
            InstallHandler(vm, 6, h => { h.add(__qword_ptr[rsp], 1); h.iretq(); }, HandlerAddress);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo(7), stop.Message);
            Assert.That(cpu.Emulator!.Reflected, Is.EqualTo(1));
        }
    }

    [Test]
    public void AnExceptionFrameIsNeverPushedOntoTheReadOnlyStartInfoPage()
    {
        // RSP just above the shared-info page: below the red zone, the #UD frame would land on the
        // last bytes of the start-info page, which the guest may not write (docs/abi.md).
        const ulong StartInfoPage = KvmPlatform.StartInfoPage;
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            a.mov(rbx, rsp);
            a.mov(rsp, StartInfoPage + 0x1000 + 128);
            a.db(0x06);                  // #UD: reflected to the guest's handler, if the frame can be pushed
            a.mov(rsp, rbx);
            a.mov(eax, 7);
            a.ret();
        });
        using (vm)
        {
            InstallHandler(vm, 6, h => { h.add(__qword_ptr[rsp], 1); h.iretq(); }, HandlerAddress);
            var before = new byte[4096];
            Assert.That(vm.PhysicalMemory.TryRead(StartInfoPage, before), Is.True);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap), stop.Message);
            Assert.That(cpu.Emulator!.Reflected, Is.Zero);
            var after = new byte[4096];
            Assert.That(vm.PhysicalMemory.TryRead(StartInfoPage, after), Is.True);
            Assert.That(after, Is.EqualTo(before), "the start-info page is unchanged");
        }
    }

    [Test]
    public void ATrapRipOutsideGuestMemoryIsADefinedStop()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a => { a.ret(); });
        using (vm)
        {
            // Straight into the emulator with a forged exit: no host exception, a reason.
            var exit = new VcpuExit { Reason = ExitReason.Trap, Vector = 13, Rip = 0xFFFF_FFFF_FFFF_FFF0 };
            var registers = new Registers { Rip = 0xFFFF_FFFF_FFFF_FFF0 };
            bool resumed = cpu.Emulator!.HandleTrap(vm, exit, ref registers, out string? message);
            Assert.That(resumed, Is.False);
            Assert.That(message, Does.Contain("outside guest memory"));

            // And a real guest jumping past the end of RAM: #PF there, no IDT: the VM stops.
            Assert.That(vm.Memory.TryWrite(CodeAddress, Assemble(a => { a.mov(rax, 0x4000_0000UL); a.jmp(rax); }, CodeAddress)), Is.True);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("#PF"));
        }
    }

    [Test]
    public void LidtWithAnOperandOutsideMemoryStopsNamingIt()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Full, a => { a.mov(rcx, 0x7000_0000UL); a.lidt(__[rcx]); a.ret(); });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("lidt"));
        }
    }

    [Test]
    public void AnIdtOutsideMemoryStopsTheVmWhenAnInterruptIsDue()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);          // IDT base far outside RAM
            ArmPitOneShot(a, 10);
            a.sti();
            a.hlt();
            a.ret();
        }, PitPorts);
        using (vm)
        {
            WriteIdtr(vm, 0x7_0000_0000, 0xFFF);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("no present gate"));
        }
    }

    [Test]
    public void WritingAnMsrThatWasNotGrantedStopsWithoutAHandler()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Full, a => { a.mov(ecx, 0x10); a.xor(eax, eax); a.xor(edx, edx); a.wrmsr(); a.ret(); });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("wrmsr").And.Contain("MSR 0x10 is not granted"));
        }
    }

    [Test]
    public void WritingAnMsrThatWasNotGrantedInjectsGpIntoAGuestWithAHandler()
    {
        // The #GP handler counts in r15, skips the 2-byte wrmsr and drops the error code.
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            a.xor(r15d, r15d);
            a.mov(ecx, ParaVirt.Cpu.Emulation.MsrFile.Efer); // granted read-only: the write faults
            a.wrmsr();
            a.mov(ecx, 0xDEAD);      // not granted at all
            a.rdmsr();
            a.mov(rax, r15);
            a.ret();
        });
        using (vm)
        {
            InstallHandler(vm, 13, h => { h.inc(r15); h.add(__qword_ptr[rsp + 8], 2); h.add(rsp, 8); h.iretq(); }, HandlerAddress);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo(2), stop.Message);
            Assert.That(cpu.Emulator!.Reflected, Is.EqualTo(2));
        }
    }

    private static Action<Iced.Intel.Assembler> CpuidProbe => a =>
    {
        a.mov(r12, DataAddress);
        a.mov(eax, 0x4000_0000);
        a.cpuid();
        a.mov(__dword_ptr[r12], eax);
        a.mov(__dword_ptr[r12 + 4], ebx);
        a.mov(__dword_ptr[r12 + 8], ecx);
        a.mov(__dword_ptr[r12 + 12], edx);
        a.mov(eax, 0x4FFF_FFFF);             // past the hypervisor range
        a.cpuid();
        a.mov(__dword_ptr[r12 + 16], eax);
        a.mov(__dword_ptr[r12 + 20], ebx);
        a.mov(__dword_ptr[r12 + 24], ecx);
        a.mov(__dword_ptr[r12 + 28], edx);
        a.mov(eax, 0x8FFF_FFFF);             // past the extended range
        a.cpuid();
        a.mov(eax, 0x7FFF_FFFF);             // past the basic range
        a.cpuid();
        a.xor(eax, eax);
        a.ret();
    };

    /// <summary>What this host does with a guest's cpuid, probed by the engine (not assumed from the vendor).</summary>
    private static ParaVirt.Core.Engine.PlatformBehaviour Host => new ParaVirt.Kvm.KvmHypervisor().Behaviour;

    /// <summary>The host process's own answer to cpuid leaf 0x40000000: what an untrapped guest cpuid reads under a nested KVM that answers natively.</summary>
    private static string HostProcessHypervisorSignature()
    {
        var (_, ebx, ecx, edx) = System.Runtime.Intrinsics.X86.X86Base.CpuId(0x4000_0000, 0);
        return Signature([(uint)ebx, (uint)ecx, (uint)edx]);
    }

    private static string Signature(ReadOnlySpan<uint> registers) =>
        System.Text.Encoding.ASCII.GetString(System.Runtime.InteropServices.MemoryMarshal.AsBytes(registers)).TrimEnd('\0');

    private static uint[] ReadAnswers(VirtualMachine vm)
    {
        var answers = new uint[8];
        Assert.That(vm.Memory.TryRead(DataAddress, System.Runtime.InteropServices.MemoryMarshal.AsBytes(answers.AsSpan())), Is.True);
        return answers;
    }

    [Test]
    public void FullModeCpuidTrapsAndOutOfRangeLeavesReadAsZeros()
    {
        if (!Host.CpuidTraps)
            Assert.Ignore($"runs where cpuid traps once CPUID faulting is on; on this {Host.CpuVendor} host the probe found that a CPL3 cpuid is answered natively (see FullModeCpuidIsAnsweredNativelyWhereItCannotTrap)");
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, CpuidProbe);
        using (vm)
        {
            Assert.That(cpu.CpuidFaulting, Is.True, "the probe found cpuid traps: full mode turns faulting on");
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Cpuid), Is.EqualTo(4));
            uint[] answers = ReadAnswers(vm);
            Assert.That(answers[0], Is.EqualTo(0x4000_0001u), "the highest hypervisor leaf");
            Assert.That(Signature(answers.AsSpan(1, 3)), Is.EqualTo("ParaVirtHV"));
            Assert.That(answers[4..8], Is.All.Zero, "an out-of-range leaf reads as zeros");
        }
    }

    [Test]
    public void FullModeCpuidIsAnsweredNativelyWhereItCannotTrap()
    {
        if (Host.CpuidTraps)
            Assert.Ignore($"runs where a CPL3 cpuid cannot be made to trap (seen on AMD EPYC under kvm_pvm); on this {Host.CpuVendor} host it traps (see FullModeCpuidTrapsAndOutOfRangeLeavesReadAsZeros)");
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, CpuidProbe);
        using (vm)
        {
            // The VM says what really happens: faulting is off, no cpuid trap, and the guest reads
            // the outer hypervisor's answer, exactly what the host process itself reads.
            Assert.That(cpu.CpuidFaulting, Is.False);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Exits.Total, Is.EqualTo(1), "four cpuids and no exit but the final shutdown");
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Cpuid), Is.Zero);
            string seen = Signature(ReadAnswers(vm).AsSpan(1, 3));
            Assert.That(seen, Is.EqualTo(Host.NativeCpuidSignature));
            Assert.That(seen, Is.EqualTo(HostProcessHypervisorSignature()));
        }
    }

    [Test]
    public void ParaModeCpuidIsAnsweredInKernelWithoutAnExit()
    {
        // Para mode leaves CPUID faulting off: cpuid never exits. Who answers is the host's
        // business: KVM's table (ParaVirtHV) on the Intel host, the outer hypervisor on the AMD one.
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, CpuidProbe);
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Exits.Total, Is.EqualTo(1), "cpuid never exits to userspace");
            Assert.That(cpu.CpuidFaulting, Is.False);
            string seen = Signature(ReadAnswers(vm).AsSpan(1, 3));
            Assert.That(seen, Is.EqualTo(Host.NativeCpuidSignature), "the probe saw the same answer");
            if (Host.CpuidTableAnswers)
                Assert.That(seen, Is.EqualTo("ParaVirtHV"));
            else
                Assert.That(seen, Is.EqualTo(HostProcessHypervisorSignature()), "answered by the outer hypervisor, as the host process is");
        }
    }

    [Test]
    public void AMulticallListOutsideMemoryOrNestedIsRefused()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(rdi, 0x7FFF_0000UL);
            a.mov(esi, 4);
            Call(a, Hypercall.Multicall);
            a.mov(r12, DataAddress);
            a.mov(__qword_ptr[r12], rax);
            a.mov(rdi, DataAddress + 64);   // one entry: a nested multicall
            a.mov(esi, 1);
            Call(a, Hypercall.Multicall);
            a.mov(__qword_ptr[r12 + 8], rax);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
        {
            Assert.That(vm.Memory.TryWrite(DataAddress + 64, new MulticallEntry { Number = (ulong)Hypercall.Multicall, Arg0 = DataAddress + 64, Arg1 = 1 }), Is.True);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(vm.Memory.TryRead(DataAddress, out long outside) && outside == (long)HypercallStatus.BadAddress, Is.True);
            Assert.That(vm.Memory.TryRead(DataAddress + 8, out long ran) && ran == 1, Is.True);
            Assert.That(vm.Memory.TryRead(DataAddress + 64, out MulticallEntry entry) && entry.Result == (long)HypercallStatus.NotPermitted, Is.True);
        }
    }

    [Test]
    public void ATimerStormOfZeroLengthTimersIsCheapAndBounded()
    {
        const int Timers = 5000;
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(r14d, Timers);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(edi, 1);                  // a deadline long past
            Call(a, Hypercall.SetTimer);
            a.dec(r14d);
            a.jnz(loop);
            a.mov(edi, (uint)SchedOp.Block);
            a.xor(esi, esi);
            Call(a, Hypercall.SchedOp);     // an event is pending: returns 1 at once
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm, 30);
            Assert.That(stop.ExitCode, Is.EqualTo(1), stop.Message);
            Assert.That(cpu.TimersArmed, Is.EqualTo(Timers));
            Assert.That(vm.Memory.TryRead(SharedInfoAddress, out SharedInfo shared), Is.True);
            Assert.That(shared.PendingEvents, Is.EqualTo(1UL << (int)EventChannel.Timer), "one pending timer event, however many fired");
        }
    }

    [Test]
    public void BlockingWithNoDeadlineAndNoEventSourceStopsTheVm()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(edi, (uint)SchedOp.Block);
            a.xor(esi, esi);
            Call(a, Hypercall.SchedOp);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("nothing can wake the vCPU"));
        }
    }

    [Test]
    public void HltWithInterruptsDisabledStopsTheVm()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Full, a => { a.cli(); a.hlt(); a.ret(); });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("interrupts disabled"));
        }
    }

    [Test]
    public void AnEventCallbackOutsideGuestRamIsRefused()
    {
        var (vm, _) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(edi, 0x6000);          // the ring-0 trampolines
            Call(a, Hypercall.SetEventCallback);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo((int)HypercallStatus.BadAddress), stop.Message);
        }
    }

    [Test]
    public void ATimerCenturiesAwayIsArmedNotAHostError()
    {
        // Timer.Change refuses more than ~49 days: the deadline is the guest's choice, so the host clamps.
        var (vm, _) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(rdi, 0x0100_0000_0000_0000UL);
            Call(a, ParaVirt.Abi.Hypercall.SetTimer);
            a.mov(rdi, long.MaxValue - 1);
            Call(a, ParaVirt.Abi.Hypercall.SetTimer);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(stop.ExitCode, Is.Zero);
        }
    }

    [TestCase(-5L, 0L)]
    [TestCase(0L, 0L)]
    [TestCase(1L, 1L)]
    [TestCase(1_000_000L, 2L)]
    [TestCase(long.MaxValue, 3_600_000L)]
    public void TimerDueTimesAreRoundedUpAndClamped(long remainingNs, long expectedMs) =>
        Assert.That(ParaVirt.Cpu.Interrupts.DeadlineKicker.DueMilliseconds(remainingNs), Is.EqualTo(expectedMs));

    [Test]
    public void CpuidAnswersAreCachedWithinABound()
    {
        var cpuid = new ParaVirt.Cpu.Emulation.CpuidEmulator();
        for (uint subleaf = 0; subleaf < 5000; subleaf++)
        {
            cpuid.Query(0x4, subleaf);           // in range: cached until the bound
            cpuid.Query(0x7FFF_0000, subleaf);   // out of range: zeros, never cached
        }
        Assert.That(cpuid.CachedAnswers, Is.EqualTo(ParaVirt.Cpu.Emulation.CpuidEmulator.MaxCachedAnswers));
        Assert.That(cpuid.Query(0x7FFF_0000, 1), Is.EqualTo((0u, 0u, 0u, 0u)));
        Assert.That(cpuid.Query(0x4000_0001, 0).Eax, Is.EqualTo(ParaVirt.Abi.AbiVersion.Current));
    }

    /// <summary>Writes a present 64-bit interrupt gate for <paramref name="vector"/> with any offset (no handler code).</summary>
    private static void WriteGate(VirtualMachine vm, byte vector, ulong offset)
    {
        var gate = new byte[16];
        BitConverter.TryWriteBytes(gate.AsSpan(0, 2), (ushort)offset);
        BitConverter.TryWriteBytes(gate.AsSpan(2, 2), (ushort)ParaVirt.Kvm.Platform.KvmPlatform.UserCode);
        gate[5] = 0x80 | 0x60 | 0xE;
        BitConverter.TryWriteBytes(gate.AsSpan(6, 2), (ushort)(offset >> 16));
        BitConverter.TryWriteBytes(gate.AsSpan(8, 4), (uint)(offset >> 32));
        Assert.That(vm.Memory.TryWrite(IdtAddress + vector * 16UL, gate), Is.True);
        WriteIdtr(vm, IdtAddress, 256 * 16 - 1);
    }

    [Test]
    public void AnExceptionGateWithANonCanonicalOffsetStopsTheVmInsteadOfEnteringIt()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            a.ud2();
            a.ret();
        });
        using (vm)
        {
            WriteGate(vm, (byte)ExceptionVector.InvalidOpcode, 0x0000_8000_0000_0000);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap), stop.Message);
            Assert.That(stop.Message, Is.EqualTo("vector 0x6: the virtual IDT gate points at 0x800000000000, a non-canonical address; the VM is stopped instead of entering it"));
            Assert.That(vm.Exits[ExitReason.Trap], Is.EqualTo(2), "lidt and ud2, and nothing after: the guest never resumed");
            Assert.That(cpu.Emulator!.Reflected, Is.Zero);
        }
    }

    [Test]
    public void AnInterruptGateIntoThePlatformPagesStopsTheVmInsteadOfEnteringIt()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rcx, IdtrAddress);
            a.lidt(__[rcx]);
            ArmPitOneShot(a, 10);
            a.sti();
            a.nop(); // the sti shadow covers this one instruction, not the loop
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.jmp(loop);
        }, PitPorts);
        using (vm)
        {
            WriteGate(vm, VirtualCpu.IrqVectorBase, ParaVirt.Kvm.Platform.KvmPlatform.Trampolines);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap), stop.Message);
            Assert.That(stop.Message, Is.EqualTo("vector 0x20: the virtual IDT gate points at 0x6000, outside the guest's pages; the VM is stopped instead of entering it"));
            Assert.That(cpu.Delivered, Is.Zero);
        }
    }

    [Test]
    public void AnIretqAfterStiToANonCanonicalRipIsLeftToTheCpu()
    {
        // sti; iretq is emulated as a pair only for a frame the CPU would accept: here the CPU itself
        // executes the iretq at CPL3 and raises #GP there (reported at the iretq, or on this AMD
        // host under kvm_pvm at the non-canonical target): an unhandled #GP either way.
        var (vm, _) = CreateVm(VirtualizationMode.Full, a =>
        {
            a.mov(rax, rsp);
            a.push(ParaVirt.Kvm.Platform.KvmPlatform.UserData);
            a.push(rax);
            a.pushfq();
            a.push(ParaVirt.Kvm.Platform.KvmPlatform.UserCode);
            a.mov(rax, 0x0000_8000_0000_0000UL);
            a.push(rax);
            a.sti();
            a.iretq();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap), stop.Message);
            Assert.That(stop.Message, Does.Contain("#GP"));
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Iretq), Is.Zero, "not emulated");
            Assert.That(vm.Exits[ExitReason.InternalError], Is.Zero);
        }
    }

    [Test]
    public void ANonCanonicalEventCallbackIsRefusedAndNeverEntered()
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Para, a =>
        {
            a.mov(rdi, 0x0000_8000_0000_0000UL);
            Call(a, Hypercall.SetEventCallback);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo((int)HypercallStatus.BadAddress), stop.Message);
            Assert.That(cpu.EventCallback, Is.Zero);
        }
    }
}
