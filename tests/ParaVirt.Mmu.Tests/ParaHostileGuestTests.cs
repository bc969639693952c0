using Iced.Intel;
using ParaVirt.Abi;
using Hc = ParaVirt.Abi.Hypercall;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Mmu.Tests;

/// <summary>
/// Para-mode guests on real KVM, assembled with Iced, that build an address space through the
/// MMU hypercalls and then misbehave. Each gets a defined status or a clean stop with a reason.
/// </summary>
public class ParaHostileGuestTests : KvmMmuFixture
{
    private const ulong L4 = 0x300000, L3 = 0x301000, L2 = 0x302000, L1 = 0x303000, Data = 0x304000;
    private const ulong List = 0x3F0000, Handler = 0x380000;
    private const ulong Va = 0x80_0000_0000;

    /// <summary>Emits: pin L1..L4, link L4[1] -> L3 -> L2 -> L1 -> Data (writable), switch to L4. Exits with 50+n if call n fails.</summary>
    private static void BuildAndSwitch(Assembler a)
    {
        int step = 0;
        void Check()
        {
            var ok = a.CreateLabel();
            a.test(rax, rax);
            a.jz(ok);
            Exit(a, 50 + step);
            a.Label(ref ok);
            step++;
        }
        foreach ((ulong frame, MmuExtCommand pin) in new[] { (L1, MmuExtCommand.PinL1Table), (L2, MmuExtCommand.PinL2Table), (L3, MmuExtCommand.PinL3Table), (L4, MmuExtCommand.PinL4Table) })
        {
            a.mov(rdi, (ulong)pin);
            a.mov(rsi, frame);
            Hypercall(a, (uint)Hc.MmuExtOp);
            Check();
        }
        a.mov(rdi, List);
        a.mov(rsi, 4);
        a.xor(edx, edx);
        Hypercall(a, (uint)Hc.MmuUpdate);
        a.sub(rax, 4);
        Check();
        a.mov(rdi, (ulong)MmuExtCommand.NewBasePointer);
        a.mov(rsi, L4);
        Hypercall(a, (uint)Hc.MmuExtOp);
        Check();
    }

    private static Machine ParaGuest(Action<Assembler> build)
    {
        Machine machine = CreateMachine(a =>
        {
            BuildAndSwitch(a);
            build(a);
        }, VirtualizationMode.Para);
        var m = machine.Vm.PhysicalMemory;
        (ulong, ulong)[] updates = [(L4 + 8, L3 | 7), (L3, L2 | 7), (L2, L1 | 7), (L1, Data | 7)];
        for (int i = 0; i < updates.Length; i++)
            m.TryWrite(List + (ulong)i * 16, new MmuUpdateEntry { Entry = updates[i].Item1, Value = updates[i].Item2 });
        m.TryWrite(Data, 0x5151UL);
        return machine;
    }

    [Test]
    public void AGuestBuiltMappingWorksAndAnUnmappedPageFaultsAtOnce()
    {
        using Machine machine = ParaGuest(a =>
        {
            a.mov(r12, Va);
            a.mov(rbx, __qword_ptr[r12]);          // 0x5151 through the guest's own tables
            a.cmp(rbx, 0x5151);
            var ok = a.CreateLabel();
            a.je(ok);
            Exit(a, 2);
            a.Label(ref ok);
            a.mov(rax, L1);                         // unmap: one update at List + 64
            a.mov(rdi, List + 64);
            a.mov(__qword_ptr[rdi], rax);
            a.mov(__qword_ptr[rdi + 8], 0);
            a.mov(esi, 1);
            a.xor(edx, edx);
            Hypercall(a, (uint)Hc.MmuUpdate);
            a.mov(rbx, __qword_ptr[r12]);           // must fault: no stale translation
            Exit(a, 3);
        });
        VmStopReason stop = RunToStop(machine.Vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap), stop.Message);
        Assert.That(stop.Message, Does.StartWith("unhandled #PF(0x4)").And.Contain($"read of 0x{Va:x} (not mapped)").And.EndWith("(no page-fault handler registered)"));
        Assert.That(machine.ParaMmu!.UpdatesApplied, Is.EqualTo(5));
    }

    [Test]
    public void APinnedTableChangedByADirectWriteFaults()
    {
        using Machine machine = ParaGuest(a =>
        {
            a.mov(rax, L1 + 8);
            a.mov(__qword_ptr[rax], 0x7);           // the guest writes its own page table
            Exit(a, 4);
        });
        VmStopReason stop = RunToStop(machine.Vm);
        Assert.That(stop.Message, Does.StartWith("unhandled #PF(0x7)").And.Contain($"write of 0x{L1 + 8:x} (protection violation)"), "a write to a read-only present page");
        Assert.That(machine.Vm.PhysicalMemory.TryRead(L1 + 8, out ulong entry) && entry == 0, Is.True);
    }

    /// <summary>Emits a handler at Handler: <paramref name="body"/>, then clear InPageFault, add rsp 16, iretq.</summary>
    private static void InstallHandler(Machine machine, Action<Assembler> body)
    {
        var h = new Assembler(64);
        body(h);
        h.push(rax);
        h.mov(rax, machine.Vm.Layout.SharedInfoPage + 24);
        h.mov(__qword_ptr[rax], 0);
        h.pop(rax);
        h.add(rsp, 16);
        h.iretq();
        var stream = new System.IO.MemoryStream();
        h.Assemble(new StreamCodeWriter(stream), Handler);
        Assert.That(machine.Vm.Memory.TryWrite(Handler, stream.ToArray()), Is.True);
    }

    private static void RegisterHandler(Assembler a)
    {
        a.mov(rdi, Handler);
        Hypercall(a, (uint)Hc.SetPageFaultHandler);
    }

    [Test]
    public void AFaultInsideThePageFaultHandlerIsADoubleFault()
    {
        using Machine machine = ParaGuest(a =>
        {
            RegisterHandler(a);
            a.mov(rax, Va + 4096);
            a.mov(rbx, __qword_ptr[rax]);           // not present: the handler runs
            Exit(a, 5);
        });
        InstallHandler(machine, h =>
        {
            h.mov(rax, Va + 8192);
            h.mov(rbx, __qword_ptr[rax]);           // faults again inside the handler
        });
        VmStopReason stop = RunToStop(machine.Vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.StartWith($"double fault: page fault at RIP 0x{Handler + 10:x} on 0x{Va + 8192:x}"));
        Assert.That(machine.ParaMmu!.PageFaultsDelivered, Is.EqualTo(1));
    }

    [Test]
    public void AHandlerThatMapsNothingEndsInAPageFaultStormStop()
    {
        using Machine machine = ParaGuest(a =>
        {
            RegisterHandler(a);
            a.mov(rax, Va + 4096);
            a.mov(rbx, __qword_ptr[rax]);
            Exit(a, 6);
        });
        InstallHandler(machine, _ => { });
        VmStopReason stop = RunToStop(machine.Vm);
        Assert.That(stop.Message, Does.StartWith($"page-fault storm: {ParaVirt.Mmu.Para.ParaMmu.MaxRepeatedFaults} faults in a row"));
        Assert.That(machine.Vm.Exits[ExitReason.Trap], Is.EqualTo(ParaVirt.Mmu.Para.ParaMmu.MaxRepeatedFaults));
        Assert.That(machine.ParaMmu!.PageFaultsDelivered, Is.EqualTo(ParaVirt.Mmu.Para.ParaMmu.MaxRepeatedFaults - 1));
    }

    [Test]
    public void ABasePointerOutsideRamOrAtANonTableIsRefusedAndTheGuestGoesOn()
    {
        using Machine machine = CreateMachine(a =>
        {
            a.mov(rdi, (ulong)MmuExtCommand.NewBasePointer);
            a.mov(rsi, 1UL << 32);
            Hypercall(a, (uint)Hc.MmuExtOp);
            a.mov(r12, rax);
            a.mov(rdi, (ulong)MmuExtCommand.NewBasePointer);
            a.mov(rsi, Data);
            Hypercall(a, (uint)Hc.MmuExtOp);
            a.add(rax, r12);
            a.neg(rax);
            a.mov(rdi, rax);
            Hypercall(a, 4);
        }, VirtualizationMode.Para);
        VmStopReason stop = RunToStop(machine.Vm);
        Assert.That(stop.ExitCode, Is.EqualTo(-2 * (int)HypercallStatus.NotPermitted), stop.Message);
        Assert.That(machine.ParaMmu!.BasePointer, Is.Zero);
    }
}
