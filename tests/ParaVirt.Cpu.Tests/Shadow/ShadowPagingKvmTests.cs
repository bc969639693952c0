using Iced.Intel;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Cpu.Emulation;
using ParaVirt.Cpu.Shadow;
using ParaVirt.Kvm.Platform;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Cpu.Tests.Shadow;

/// <summary>
/// Full mode's shadow paging on real KVM: CPL3 guests (Iced-assembled) that write their own
/// 4-level tables and load CR3, with exact exit counts. Guest tables live at
/// <see cref="Pml4"/>.. (prepared zeroed by the host, linked by the guest or the host before the
/// guest's CR3 load: the same as a guest kernel setting up, since unshadowed tables are plain RAM).
/// </summary>
public class ShadowPagingKvmTests : CpuFixture
{
    private const ulong Pml4 = 0x400000, Pdpt = 0x401000, Pd = 0x402000, Pt = 0x403000;
    private const ulong Pml4B = 0x404000, PdptB = 0x405000, PdB = 0x406000, PtB = 0x407000;
    private const ulong Frames = 0x500000;
    private const ulong Va = 0x80_0000_0000; // PML4 slot 1, PDPT 0, PD 0, PT 0
    private const ulong Table = 7;           // P | W | U
    private const ulong ExitStub = KvmPlatform.HypercallPage + HypercallPage.ExitStubOffset;

    private static (VirtualMachine Vm, VirtualCpu Cpu, ShadowMmu Mmu) CreateShadowVm(Action<Assembler> build)
    {
        var (vm, cpu) = CreateVm(VirtualizationMode.Full, build);
        if (cpu.Emulator?.Shadow is not { } mmu)
        {
            vm.Dispose();
            Assert.Ignore("this engine offers no host-private memory and guest-paging feature, so full mode has no shadow MMU");
            throw new InvalidOperationException();
        }
        // One address space: PML4[1] -> PDPT -> PD -> PT, all zeroed; a second one for switches.
        for (ulong page = Pml4; page <= PtB; page += 4096)
            Assert.That(vm.Memory.TryFill(page, 4096, 0), Is.True);
        Write(vm, Pml4 + 8, Pdpt | Table);
        Write(vm, Pdpt, Pd | Table);
        Write(vm, Pd, Pt | Table);
        Write(vm, Pml4B + 8, PdptB | Table);
        Write(vm, PdptB, PdB | Table);
        Write(vm, PdB, PtB | Table);
        return (vm, cpu, mmu);
    }

    /// <summary>Runs with a watchdog and prints the time per operation (a measurement, never asserted).</summary>
    private static VmStopReason RunMeasured(VirtualMachine vm, string what, int operations)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        VmStopReason stop = RunToStop(vm, 60);
        watch.Stop();
        TestContext.Out.WriteLine($"{what}: {vm.Exits.Total} exits, {(double)vm.Exits.Total / operations:F2} exits/op, {watch.Elapsed.TotalMilliseconds * 1000 / operations:F1} us/op (whole run incl. set-up)");
        return stop;
    }

    private static void Write(VirtualMachine vm, ulong address, ulong value) => Assert.That(vm.Memory.TryWrite(address, value), Is.True);

    private static ulong Read(VirtualMachine vm, ulong address)
    {
        Assert.That(vm.Memory.TryRead(address, out ulong value), Is.True);
        return value;
    }

    private static void LoadIdtAndCr3(Assembler a, ulong pml4 = Pml4)
    {
        a.mov(rcx, IdtrAddress);
        a.lidt(__[rcx]);
        a.mov(rax, pml4);
        a.mov(cr3, rax);
    }

    /// <summary>A #PF handler that ends the run: the exit code is CR2's page number (exit codes are 32-bit).</summary>
    private static void ExitWithCr2(Assembler h)
    {
        h.mov(rax, cr2);
        h.shr(rax, 12);
        h.mov(r11, ExitStub);
        h.jmp(r11);
    }

    [Test]
    public void DemandPagingCostsFourExitsPerPageAndTheDataLands()
    {
        const int Pages = 256;
        var (vm, _, mmu) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, Va);
            a.mov(r13d, Pages);
            a.mov(r14, Frames);
            Label touch = a.CreateLabel();
            a.Label(ref touch);
            a.mov(__qword_ptr[r12], r13);      // not present: the guest's handler maps a fresh frame
            a.add(r12, 4096);
            a.dec(r13d);
            a.jnz(touch);
            // Read everything back through the guest's mappings: no exit, the shadow is filled.
            a.mov(r12, Va);
            a.mov(ecx, Pages);
            a.xor(eax, eax);
            Label sum = a.CreateLabel();
            a.Label(ref sum);
            a.add(rax, __qword_ptr[r12]);
            a.add(r12, 4096);
            a.dec(ecx);
            a.jnz(sum);
            a.ret();
        });
        using (vm)
        {
            InstallHandler(vm, (byte)ExceptionVector.PageFault, h =>
            {
                h.push(rax);
                h.push(rbx);
                h.mov(rax, cr2);                     // trapped: the virtual CR2
                h.shr(rax, 12);
                h.and(eax, 511);
                h.mov(rbx, r14);
                h.or(rbx, 3);
                h.mov(__qword_ptr[rax * 8 + (int)Pt], rbx); // a store into a shadowed table: emulated
                h.add(r14, 4096);
                h.pop(rbx);
                h.pop(rax);
                h.add(rsp, 8);
                h.iretq();
            }, HandlerAddress);

            VmStopReason stop = RunMeasured(vm, "full page-fault (demand paging)", Pages);

            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(stop.ExitCode, Is.EqualTo(Pages * (Pages + 1) / 2));
            for (int i = 0; i < Pages; i++)
                Assert.That(Read(vm, Frames + (ulong)i * 4096), Is.EqualTo((ulong)(Pages - i)), $"page {i} landed in its frame");
            Assert.That(mmu.GuestFaults, Is.EqualTo(Pages), "each first touch is reflected");
            Assert.That(mmu.HiddenFaults, Is.EqualTo(Pages), "each retry fills the shadow");
            Assert.That(mmu.TableWrites, Is.EqualTo(Pages - 1), "the first PTE store precedes the page table's shadowing");
            // lidt, mov cr3; per page: #PF reflected, mov from cr2, PTE store (not the first), hidden fault; shutdown.
            Assert.That(vm.Exits.Total, Is.EqualTo(2 + 4 * Pages - 1 + 1));
            Assert.That(vm.Exits.TrapsByVector((byte)ExceptionVector.PageFault), Is.EqualTo(3 * Pages - 1));
        }
    }

    [TestCase(false, TestName = "an unmapped page faults after its PTE is cleared")]
    [TestCase(true, TestName = "an unmapped page faults after its PTE is cleared and invlpg")]
    public void NoStaleTranslationSurvivesAnUnmap(bool invlpg)
    {
        var (vm, cpu, mmu) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, Va);
            a.mov(rax, __qword_ptr[r12]);          // hidden fault: the shadow maps it
            a.mov(rbx, Pt);
            a.mov(__qword_ptr[rbx], 0);            // unmap: a store into a shadowed table
            if (invlpg)
                a.invlpg(__[r12]);
            a.mov(rax, __qword_ptr[r12]);          // must fault: the handler exits with CR2
            a.mov(eax, 1);
            a.ret();
        });
        using (vm)
        {
            Write(vm, Pt, Frames | 3);
            InstallHandler(vm, (byte)ExceptionVector.PageFault, ExitWithCr2, HandlerAddress);

            VmStopReason stop = RunToStop(vm);

            string counts = $"hidden {mmu.HiddenFaults}, guest {mmu.GuestFaults}, table writes {mmu.TableWrites}, spurious {mmu.SpuriousFaults}, #PF exits {vm.Exits.TrapsByVector(14)}, #GP exits {vm.Exits.TrapsByVector(13)}, total {vm.Exits.Total}, virtual CR2 0x{cpu.State.Cr2:x}, reflected {cpu.Emulator!.PageFaultsReflected}";
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That((ulong)stop.ExitCode, Is.EqualTo(Va >> 12), $"the second read faulted at the unmapped address ({counts})");
            Assert.That(mmu.HiddenFaults, Is.EqualTo(1));
            Assert.That(mmu.TableWrites, Is.EqualTo(1));
            Assert.That(Read(vm, Pt), Is.Zero);
        }
    }

    [Test]
    public void ARemappedPageReadsItsNewFrame()
    {
        var (vm, _, _) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, Va);
            a.mov(rax, __qword_ptr[r12]);
            a.mov(rbx, Pt);
            a.mov(rcx, (Frames + 4096) | 3);
            a.mov(__qword_ptr[rbx], rcx);         // remap to the next frame
            a.mov(rdx, __qword_ptr[r12]);
            a.shl(rax, 8);
            a.or(rax, rdx);
            a.ret();
        });
        using (vm)
        {
            Write(vm, Pt, Frames | 3);
            Write(vm, Frames, 0x11);
            Write(vm, Frames + 4096, 0x22);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.ExitCode, Is.EqualTo(0x1122), stop.Message);
        }
    }

    [Test]
    public void SwitchingBetweenTwoCachedAddressSpacesCostsOneExitPerSwitch()
    {
        const int Rounds = 500;
        var (vm, _, mmu) = CreateShadowVm(a =>
        {
            a.mov(r12, Va);
            a.xor(eax, eax);
            a.mov(ecx, Rounds);
            a.mov(r8, Pml4);
            a.mov(r9, Pml4B);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(cr3, r8);
            a.add(rax, __qword_ptr[r12]);
            a.mov(cr3, r9);
            a.add(rax, __qword_ptr[r12]);
            a.dec(ecx);
            a.jnz(loop);
            a.ret();
        });
        using (vm)
        {
            Write(vm, Pt, Frames | 3);
            Write(vm, PtB, (Frames + 4096) | 3);
            Write(vm, Frames, 1);
            Write(vm, Frames + 4096, 2);
            VmStopReason stop = RunMeasured(vm, "full context-switch", 2 * Rounds);
            Assert.That(stop.ExitCode, Is.EqualTo(3 * Rounds), stop.Message);
            Assert.That(mmu.RootMisses, Is.EqualTo(2));
            Assert.That(mmu.RootHits, Is.EqualTo(2 * Rounds - 2));
            Assert.That(mmu.HiddenFaults, Is.EqualTo(2), "one fill per address space, kept across switches");
            Assert.That(vm.Exits.Total, Is.EqualTo(2 * Rounds + 2 + 1));
        }
    }

    [Test]
    public void MapTouchUnmapCostsFourExitsPerPage()
    {
        const int Pages = 64;
        var (vm, _, mmu) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, Va + 511 * 4096);
            a.mov(rax, __qword_ptr[r12]);           // shadows the page table (one hidden fault)
            a.mov(r12, Va);
            a.mov(r13, Pt);
            a.mov(rcx, Frames | 3);
            a.mov(r14d, Pages);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(__qword_ptr[r13], rcx);           // map: a store into a shadowed table
            a.mov(__qword_ptr[r12], r14);           // touch: a hidden fault
            a.mov(__qword_ptr[r13], 0);             // unmap: a store into a shadowed table
            a.invlpg(__[r12]);
            a.add(r13, 8);
            a.add(r12, 4096);
            a.add(rcx, 4096);
            a.dec(r14d);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
        {
            Write(vm, Pt + 511 * 8, (Frames + 511 * 4096) | 3);
            VmStopReason stop = RunMeasured(vm, "full map-touch-unmap", Pages);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            for (int i = 0; i < Pages; i++)
                Assert.That(Read(vm, Frames + (ulong)i * 4096), Is.EqualTo((ulong)(Pages - i)));
            Assert.That(mmu.TableWrites, Is.EqualTo(2 * Pages));
            Assert.That(mmu.HiddenFaults, Is.EqualTo(Pages + 1));
            Assert.That(vm.Exits.TrapsByInstruction(TrapInstruction.Invlpg), Is.EqualTo(Pages));
            Assert.That(vm.Exits.Total, Is.EqualTo(2 + 1 + 4 * Pages + 1), "lidt, cr3, the first fill; per page map, touch, unmap, invlpg; shutdown");
        }
    }

    [Test]
    public void ATableThatMapsItselfWritableIsWrittenThroughTheEmulator()
    {
        const ulong SelfVa = (1UL << 39) | (1UL << 30) | (1UL << 21) | (1UL << 12); // PML4[1] -> PML4 at every level
        var (vm, _, mmu) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, SelfVa);
            a.mov(rax, __qword_ptr[r12 + 8]);       // reads PML4[1] through the self-map (a hidden fault)
            a.mov(rcx, 0x1234_5000UL | 3);
            a.mov(__qword_ptr[r12 + 16], rcx);      // writes PML4[2]: the PML4 is a shadowed table
            a.mov(rdx, Pml4 + 16);
            a.mov(rax, __qword_ptr[rdx]);
            a.ret();
        });
        using (vm)
        {
            Write(vm, Pml4 + 8, Pml4 | Table);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That((ulong)stop.ExitCode, Is.EqualTo(0x1234_5000UL | 3));
            Assert.That(mmu.TableWrites, Is.EqualTo(1));
            Assert.That(mmu.HiddenFaults, Is.EqualTo(1));
        }
    }

    [Test]
    public void ATableLoopIsWalkedFourLevelsDeepAndNoFurther()
    {
        var (vm, _, _) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, Va + 0x1234_5000);
            a.mov(rax, __qword_ptr[r12 + 8]);
            a.ret();
        });
        using (vm)
        {
            // PML4[1] -> X, every entry of X -> Y, every entry of Y -> X.
            for (int i = 0; i < 512; i++)
            {
                Write(vm, Pdpt + (ulong)i * 8, Pd | Table);
                Write(vm, Pd + (ulong)i * 8, Pdpt | Table);
            }
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That((ulong)stop.ExitCode, Is.EqualTo(Pdpt | Table), "the leaf is the PD, read-only, whose entries name the PDPT");
        }
    }

    [Test]
    public void Cr3OutsideRamIsAGeneralProtectionFault()
    {
        var (vm, cpu, _) = CreateShadowVm(a =>
        {
            a.mov(rax, KvmPlatform.Pml4);            // the platform's own tables: not guest RAM
            a.mov(cr3, rax);
            a.ret();
        });
        using (vm)
        {
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("#GP").And.Contain("mov cr3"));
            Assert.That(cpu.State.Cr3, Is.Zero);
        }
    }

    [Test]
    public void Cr3AtANonTableGivesReservedBitFaults()
    {
        var (vm, _, _) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a, Frames);
            a.mov(r12, Va);
            a.mov(__qword_ptr[r12], rax);
            a.ret();
        });
        using (vm)
        {
            Assert.That(vm.Memory.TryFill(Frames, 4096, 0xFF), Is.True); // every entry names a frame past RAM
            InstallHandler(vm, (byte)ExceptionVector.PageFault, h =>
            {
                h.pop(rax);                          // the error code
                h.mov(r11, ExitStub);
                h.jmp(r11);
            }, HandlerAddress);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
            Assert.That(stop.ExitCode, Is.EqualTo(0xB), "present, write, reserved bit: a malformed entry");
        }
    }

    [Test]
    public void APageFaultHandlerThatFaultsAgainIsADoubleFault()
    {
        var (vm, _, mmu) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, Va);
            a.mov(rax, __qword_ptr[r12]);
            a.ret();
        });
        using (vm)
        {
            InstallHandler(vm, (byte)ExceptionVector.PageFault, h =>
            {
                h.mov(r12, Va + 4096);
                h.mov(rax, __qword_ptr[r12]);        // not mapped either: faults inside the handler
                h.add(rsp, 8);
                h.iretq();
            }, HandlerAddress);
            VmStopReason stop = RunToStop(vm);
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
            Assert.That(stop.Message, Does.Contain("double fault"));
            Assert.That(mmu.GuestFaults, Is.EqualTo(TrapEmulator.MaxNestedPageFaults + 1));
        }
    }

    [Test]
    public void APageFaultStormCostsOneExitPerFaultAndAllocatesNothing()
    {
        var (vm, _, mmu) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, Va);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(__byte_ptr[r12], al);             // 4 bytes: the handler skips it
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
        {
            InstallHandler(vm, (byte)ExceptionVector.PageFault, h =>
            {
                h.add(__qword_ptr[rsp + 8], 4);     // past the faulting store
                h.add(rsp, 8);
                h.iretq();
            }, HandlerAddress);
            long Run(int faults)
            {
                vm.PrepareEntry(CodeAddress);
                vm.Registers.Rbx = (ulong)faults;
                vm.Exits.Reset();
                var watch = System.Diagnostics.Stopwatch.StartNew();
                long before = GC.GetAllocatedBytesForCurrentThread();
                VmStopReason stop = vm.Run(TimeSpan.FromSeconds(60));
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                watch.Stop();
                TestContext.Out.WriteLine($"full #PF storm: {faults} reflected faults, {watch.Elapsed.TotalMilliseconds * 1000 / faults:F1} us/fault");
                Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
                Assert.That(vm.Exits.TrapsByVector((byte)ExceptionVector.PageFault), Is.EqualTo(faults));
                Assert.That(vm.Exits.Total, Is.EqualTo(faults + 3), "lidt, mov cr3, the faults, shutdown");
                return allocated;
            }
            Run(100);
            long few = Math.Min(Run(500), Math.Min(Run(500), Run(500)));
            long many = Math.Min(Run(3000), Math.Min(Run(3000), Run(3000)));
            Assert.That(many, Is.EqualTo(few), "2,500 more faults allocated more");
            Assert.That(mmu.HiddenFaults, Is.Zero);
        }
    }

    [Test]
    public void TableWritesHiddenFaultsAndSwitchesAllocateNothing()
    {
        var (vm, _, _) = CreateShadowVm(a =>
        {
            LoadIdtAndCr3(a);
            a.mov(r12, Va);
            a.mov(r13, Pt);
            a.mov(r8, Pml4);
            a.mov(r9, Pml4B);
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.mov(rcx, Frames | 3);
            a.mov(__qword_ptr[r13], rcx);           // map (a store into a shadowed table)
            a.mov(__qword_ptr[r12], rbx);           // a hidden fault fills it
            a.mov(__qword_ptr[r13], 0);             // unmap
            a.invlpg(__[r12]);
            a.mov(cr3, r9);
            a.mov(cr3, r8);
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });
        using (vm)
        {
            Write(vm, Pt, Frames | 3);
            long Run(int rounds)
            {
                vm.PrepareEntry(CodeAddress);
                vm.Registers.Rbx = (ulong)rounds;
                long before = GC.GetAllocatedBytesForCurrentThread();
                VmStopReason stop = vm.Run(TimeSpan.FromSeconds(60));
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
                return allocated;
            }
            Run(50);
            long few = Math.Min(Run(100), Math.Min(Run(100), Run(100)));
            long many = Math.Min(Run(600), Math.Min(Run(600), Run(600)));
            Assert.That(many, Is.EqualTo(few), "500 more rounds allocated more");
        }
    }
}
