using ParaVirt.Core.Bus;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

/// <summary>
/// The engine's probe of host behaviour (cpuid, string I/O) against independent observations:
/// what a whole VM counts, and what the host process itself reads.
/// </summary>
public sealed class PlatformProbeTests : KvmFixture
{
    private const ushort Port = 0x1F0;

    [Test]
    public void ProbeIsTakenOnceAndIsSelfConsistent()
    {
        PlatformBehaviour first = new KvmHypervisor().Behaviour;
        Assert.That(new KvmHypervisor().Behaviour, Is.SameAs(first), "probed once per process");
        Assert.That(first.CpuVendor, Is.Not.Empty);
        if (first.CpuidTraps)
            Assert.That(first.CpuidFaultingAccepted, Is.True, "cpuid can only trap once faulting is on");
        Assert.That(first.RepOutswExitsPer256Words, Is.InRange(1, 256));
        Assert.That(first.RepInswExitsPer256Words, Is.InRange(1, 256));
        Assert.That(first.Describe().Select(d => d.Name), Does.Contain("cpuid traps").And.Contain("rep outsw"));
    }

    [Test]
    public void StringIoExitsOfAWholeVmMatchTheProbe()
    {
        PlatformBehaviour host = new KvmHypervisor().Behaviour;
        var device = new WordCounter();
        using VirtualMachine vm = CreateVm(a =>
        {
            a.mov(rsi, CodeAddress + 0x1000);
            a.mov(ecx, 256);
            a.mov(edx, (uint)Port);
            a.rep.outsw();
            a.mov(rdi, CodeAddress + 0x1000);
            a.mov(ecx, 256);
            a.rep.insw();
            a.xor(eax, eax);
            a.ret();
        }, new VmOptions { MemorySize = 4UL << 20, OpenPorts = [Port, Port + 1] });
        vm.PortBus.Register(Port, 2, device);

        VmStopReason stop = RunToStop(vm);

        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(device.Written, Is.EqualTo(256));
        Assert.That(device.WordsRead, Is.EqualTo(256));
        Assert.That(vm.Exits[ExitReason.PortIo], Is.EqualTo(host.RepOutswExitsPer256Words + host.RepInswExitsPer256Words));
    }

    [Test]
    public void AnUntrappedCpuidReadsWhatTheProbeSaw()
    {
        PlatformBehaviour host = new KvmHypervisor().Behaviour;
        using VirtualMachine vm = CreateVm(a =>
        {
            a.mov(eax, 0x4000_0000);
            a.xor(ecx, ecx);
            a.cpuid();
            a.mov(r12, CodeAddress + 0x1000);
            a.mov(__dword_ptr[r12], ebx);
            a.mov(__dword_ptr[r12 + 4], ecx);
            a.mov(__dword_ptr[r12 + 8], edx);
            a.xor(eax, eax);
            a.ret();
        });

        VmStopReason stop = RunToStop(vm);

        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(vm.Exits.Total, Is.EqualTo(1), "a bare VM never traps cpuid");
        var answer = new uint[3];
        Assert.That(vm.Memory.TryRead(CodeAddress + 0x1000, System.Runtime.InteropServices.MemoryMarshal.AsBytes(answer.AsSpan())), Is.True);
        Assert.That(PlatformProbe.Signature(answer[0], answer[1], answer[2]), Is.EqualTo(host.NativeCpuidSignature));
        var (_, b, c, d) = System.Runtime.Intrinsics.X86.X86Base.CpuId(0x4000_0000, 0);
        string hostProcess = PlatformProbe.Signature((uint)b, (uint)c, (uint)d);
        if (host.CpuidTableAnswers)
            Assert.That(host.NativeCpuidSignature, Is.EqualTo("ParaVirtHV"), "KVM answers from the engine's KVM_SET_CPUID2 table");
        else
            Assert.That(host.NativeCpuidSignature, Is.EqualTo(hostProcess), "answered by the outer hypervisor, as the host process is");
    }

    private sealed class WordCounter : IBusDevice
    {
        public int Written, WordsRead;

        public string Name => "word-counter";

        public void Read(ulong offset, Span<byte> data)
        {
            WordsRead++;
            data.Clear();
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data) => Written++;
    }
}
