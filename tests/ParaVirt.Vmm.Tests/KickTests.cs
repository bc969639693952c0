using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.Testing;

namespace ParaVirt.Vmm.Tests;

/// <summary>
/// A line raised from another thread while the vCPU is out of the guest (a device thread finishing
/// during an exit) kicks it; the resume hook then publishes the line before re-entry, so the kick is
/// withdrawn and costs no Interrupted exit. A scripted vCPU stands in for KVM: it returns
/// Interrupted on the entry after a kick that was not withdrawn, as KVM does with immediate_exit.
/// </summary>
public sealed class KickTests
{
    private const uint RaiseFromAnotherThread = (uint)Hypercall.Limit - 1;
    private const int Line = 5;

    /// <summary>Null, then the test's hypercall (whose handler raises the line from another thread), then Shutdown.</summary>
    private sealed class ScriptedVcpu : IVcpuBackend
    {
        private Registers _registers = new() { Rip = 0x200000, Rsp = 0x201000 };
        private int _kicked, _step, _runThread;

        public int Kicks, Cancels;

        public ref Registers Registers => ref _registers;

        public void Run(ref VcpuExit exit)
        {
            Volatile.Write(ref _runThread, Environment.CurrentManagedThreadId);
            if (Interlocked.Exchange(ref _kicked, 0) != 0)
            {
                exit.Reason = ExitReason.Interrupted;
                return;
            }
            _registers.Rax = _step++ switch
            {
                0 => (ulong)Hypercall.Null,
                1 => RaiseFromAnotherThread,
                _ => (ulong)Hypercall.Shutdown,
            };
            _registers.Rdi = 0;
            exit.Reason = ExitReason.Hypercall;
        }

        /// <summary>As KVM's: a kick from the vCPU's own thread (a stop asked by a handler) does nothing.</summary>
        public void Kick()
        {
            if (Environment.CurrentManagedThreadId == Volatile.Read(ref _runThread))
                return;
            Interlocked.Increment(ref Kicks);
            Volatile.Write(ref _kicked, 1);
        }

        public void CancelKick()
        {
            Interlocked.Increment(ref Cancels);
            Volatile.Write(ref _kicked, 0);
        }

        public void ClearKick() => Volatile.Write(ref _kicked, 0);

        public ulong ReadControlRegister(int index) => 0;

        public void ResetForEntry() => _registers = new Registers { Rip = 0x200000, Rsp = 0x201000 };

        public void Dispose()
        {
        }
    }

    [Test]
    public void A_line_raised_during_an_exit_is_published_on_the_way_in_without_a_spurious_exit()
    {
        var vcpu = new ScriptedVcpu();
        using Machine machine = MachineBuilder.Create(new FakeEngine(() => vcpu)).WithMode(VirtualizationMode.Para).Build();
        ParaVirt.Cpu.VirtualCpu cpu = machine.Cpu!;
        cpu.RegisterEventSource();
        machine.Vm.Hypercalls.Register(RaiseFromAnotherThread, "raise-from-another-thread", (VirtualMachine vm, in HypercallArgs a) =>
        {
            var device = new Thread(() => cpu.Raise(Line));
            device.Start();
            device.Join();
            return 0;
        });

        VmStopReason stop = machine.Vm.Run(TimeSpan.FromSeconds(30));

        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.ToString());
        Assert.That(vcpu.Kicks, Is.EqualTo(1), "the guest counted as running: the raise kicked");
        Assert.That(machine.Vm.Exits[ExitReason.Interrupted], Is.Zero, "the kick was withdrawn once the line was published");
        Assert.That(cpu.PendingLines, Is.Zero, "the line went to the shared-info page before the guest resumed");
        ulong page = machine.Vm.Layout.SharedInfoPage;
        Assert.That(machine.Vm.Memory.TryRead(page + 8, out ulong pendingEvents), Is.True);
        Assert.That(pendingEvents & (1UL << Line), Is.Not.Zero);
    }
}
