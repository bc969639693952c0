using Iced.Intel;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm.Platform;
using ParaVirt.Vmm;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Mmu.Tests;

/// <summary>
/// The hazard of this nested KVM: a host store into live page tables is not seen until the vCPU's
/// translations are rebuilt. With the table page noted (<see cref="IGuestPaging.TryNoteTableWrite"/>)
/// no stale translation survives into the guest, after a hypercall exit and after a trap exit alike.
/// </summary>
public class GuestTlbTests : KvmMmuFixture
{
    private const ulong Va = 0x80_0000_0000; // PML4 slot 1
    private const ulong Pdpt = 0x300000, Pd = 0x301000, Pt = 0x302000, Page = 0x303000, Other = 0x304000;

    /// <summary>Builds slot 1 by hand: Va maps Page (holding 0x1234); Other holds 0x5678.</summary>
    private static void MapByHand(VirtualMachine vm)
    {
        var m = vm.PhysicalMemory;
        Assert.That(m.TryWrite(KvmPlatform.Pml4 + 8, Pdpt | 7) && m.TryWrite(Pdpt, Pd | 7) && m.TryWrite(Pd, Pt | 7) &&
                    m.TryWrite(Pt, Page | 7) && m.TryWrite(Page, 0x1234UL) && m.TryWrite(Other, 0x5678UL), Is.True);
    }

    private sealed class TrapChanger(Action<VirtualMachine> change) : ITrapHandler
    {
        public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage)
        {
            stopMessage = exit.Vector == (byte)ExceptionVector.PageFault ? $"#PF at 0x{exit.Address:x}" : null;
            if (exit.Vector != (byte)ExceptionVector.Breakpoint)
                return false;
            change(vm);
            return true;
        }
    }

    /// <summary>Reads Va, lets the host change the tables (hypercall 100 or int3), reads Va again and exits with the value read.</summary>
    private static Machine Guest(bool throughTrap) => CreateMachine(a =>
    {
        a.mov(r12, Va);
        a.mov(rbx, __qword_ptr[r12]);
        if (throughTrap)
            a.int3();
        else
            Hypercall(a, 100);
        a.mov(rdi, __qword_ptr[r12]);
        Hypercall(a, 4);
    });

    private static void Run(bool throughTrap, Action<VirtualMachine> change, out VmStopReason stop, out int changes)
    {
        int count = 0;
        using Machine machine = Guest(throughTrap);
        VirtualMachine vm = machine.Vm;
        MapByHand(vm);
        Action<VirtualMachine> counted = v => { count++; change(v); };
        vm.Hypercalls.Register(100, "change", (VirtualMachine v, in HypercallArgs _) => { counted(v); return 0; });
        vm.TrapHandler = new TrapChanger(counted);
        stop = RunToStop(vm);
        changes = count;
    }

    private static void Note(VirtualMachine vm, ulong page) =>
        Assert.That(vm.GetVcpuFeature<IGuestPaging>()!.TryNoteTableWrite(page), Is.True);

    [TestCase(false)]
    [TestCase(true)]
    public void APageTheHostUnmapsFaultsWhenTouchedAgain(bool throughTrap)
    {
        Run(throughTrap, vm => { vm.PhysicalMemory.TryWrite(Pt, 0UL); Note(vm, Pt); }, out VmStopReason stop, out int changes);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap), stop.Message);
        Assert.That(stop.Message, Is.EqualTo($"#PF at 0x{Va:x}"));
        Assert.That(changes, Is.EqualTo(1));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void APageTheHostRemapsReadsTheNewFrame(bool throughTrap)
    {
        Run(throughTrap, vm => { vm.PhysicalMemory.TryWrite(Pt, Other | 7); Note(vm, Pt); }, out VmStopReason stop, out int changes);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(0x5678));
        Assert.That(changes, Is.EqualTo(1), "the hypercall ran once: the ring-0 path resumes after it");
    }

    [Test]
    public void ADirectoryEntryTheHostClearsFaults()
    {
        Run(false, vm => { vm.PhysicalMemory.TryWrite(Pd, 0UL); Note(vm, Pd); }, out VmStopReason stop, out _);
        Assert.That(stop.Message, Is.EqualTo($"#PF at 0x{Va:x}"));
    }

    [Test]
    public void TheTableWritePathPreservesEveryGeneralRegister()
    {
        using Machine machine = CreateMachine(a =>
        {
            a.mov(rcx, 0x1111);
            a.mov(rdx, 0x2222);
            a.mov(rdi, 0x3333);
            a.mov(rsi, 0x4444);
            a.mov(rbx, 0x5555);
            Hypercall(a, 100);
            // rax = 77 from the handler; sum the others and exit with (sum == expected) * rax
            a.add(rdx, rdi);
            a.add(rdx, rsi);
            a.add(rdx, rbx);
            a.cmp(rdx, 0x2222 + 0x3333 + 0x4444 + 0x5555);
            var bad = a.CreateLabel();
            a.jne(bad);
            a.cmp(r10, 0x1111); // the stub moved rcx to r10
            a.jne(bad);
            a.mov(rdi, rax);
            Hypercall(a, 4);
            a.Label(ref bad);
            Exit(a, 1);
        });
        VirtualMachine vm = machine.Vm;
        MapByHand(vm);
        vm.Hypercalls.Register(100, "change", (VirtualMachine v, in HypercallArgs _) => { Note(v, Pt); return 77; });
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.ExitCode, Is.EqualTo(77), stop.Message);
        Assert.That(vm.GetVcpuFeature<IGuestPaging>()!.Flushes, Is.EqualTo(1));
    }

    [Test]
    public void HostPrivateMemoryIsNotReachableFromTheGuest()
    {
        using Machine machine = CreateMachine(a =>
        {
            a.mov(rax, KvmPlatform.PrivateMemoryStart);
            a.mov(rdi, __qword_ptr[rax]);
            Hypercall(a, 4);
        });
        Assert.That(machine.Vm.GetVmFeature<IHostPrivateMemory>()!.PrivateMemory, Is.Not.Null);
        VmStopReason stop = RunToStop(machine.Vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.Contain("#PF"));
    }

    [Test]
    public void AProtectedFrameFaultsOnWriteAndIsWritableOnceUnprotected()
    {
        const ulong Frame = 0x500000;
        using Machine machine = CreateMachine(a =>
        {
            a.mov(r12, Frame);
            Hypercall(a, 100);                  // protect
            a.mov(rbx, __qword_ptr[r12]);       // reads still work
            a.int3();                           // the host expects a write fault next: unprotects on it
            a.mov(__qword_ptr[r12], 0x42);      // faults once, retried after unprotect
            a.mov(rdi, __qword_ptr[r12]);
            Hypercall(a, 4);
        });
        VirtualMachine vm = machine.Vm;
        var pool = new Core.Memory.HostPagePool(vm.GetVmFeature<IHostPrivateMemory>()!.PrivateMemory!);
        IGuestPaging paging = vm.GetVcpuFeature<IGuestPaging>()!;
        var protection = new IdentityMapProtection(vm.PhysicalMemory, vm.Layout, pool, paging);
        vm.Hypercalls.Register(100, "protect", (VirtualMachine v, in HypercallArgs _) => protection.TryProtect(Frame) ? 0 : -1);
        var faults = new List<(byte, uint, ulong)>();
        vm.TrapHandler = new FaultRecorder(faults, protection, Frame);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.ExitCode, Is.EqualTo(0x42), stop.Message);
        Assert.That(faults, Is.EqualTo(new[] { ((byte)ExceptionVector.Breakpoint, 0u, 0UL), ((byte)ExceptionVector.PageFault, 7u, Frame) }),
            "one write fault (present, write, user) on the protected frame");
        Assert.That(protection.SplitRegions, Is.EqualTo(0), "merged back");
    }

    private sealed class FaultRecorder(List<(byte, uint, ulong)> faults, IdentityMapProtection protection, ulong frame) : ITrapHandler
    {
        public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage)
        {
            stopMessage = null;
            faults.Add((exit.Vector, exit.ErrorCode, exit.Address));
            if (exit.Vector == (byte)ExceptionVector.PageFault)
                protection.Unprotect(frame);
            return faults.Count <= 2;
        }
    }
}
