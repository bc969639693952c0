using System;
using System.IO;
using System.Runtime.Intrinsics.X86;
using System.Text;
using System.Threading;
using Iced.Intel;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Kvm.Platform;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm;

/// <summary>
/// Finds out how this host's KVM treats the guest behaviours ParaVirt relies on, by running small
/// guests on the real platform (CPL3, the same page tables, TSS and trampolines as every VM):
/// <list type="bullet">
/// <item>does <c>cpuid</c> trap once CPUID faulting is on (Intel hosts: yes; on an AMD EPYC host
/// under <c>kvm_pvm</c> a CPL3 <c>cpuid</c> is answered natively by the outer hypervisor);</item>
/// <item>does KVM's <c>KVM_SET_CPUID2</c> table answer an untrapped <c>cpuid</c>;</item>
/// <item>how many userspace exits <c>rep outsw</c> and <c>rep insw</c> of one 512-byte sector take.</item>
/// </list>
/// Two VMs, about 3 ms, once per process (<see cref="KvmHypervisor.Behaviour"/> caches it).
/// </summary>
internal static class PlatformProbe
{
    private const ulong Code = KvmPlatform.GuestRamStart;
    private const ulong Buffer = KvmPlatform.GuestRamStart + 0x1000;
    private const ushort StringIoPort = 0x1F0;
    private const int ExitBudget = 4096;

    public static PlatformBehaviour Run()
    {
        var (faultingAccepted, traps, signature) = ProbeCpuid();
        var (outExits, inExits) = ProbeStringIo();
        return new PlatformBehaviour(
            CpuVendor: HostVendor(),
            CpuidFaultingAccepted: faultingAccepted,
            CpuidTraps: traps,
            CpuidTableAnswers: signature == Signature(HypervisorCpuid.SignatureEbx, HypervisorCpuid.SignatureEcx, HypervisorCpuid.SignatureEdx),
            NativeCpuidSignature: signature,
            RepOutswExitsPer256Words: outExits,
            RepInswExitsPer256Words: inExits);
    }

    /// <summary>The host's vendor string (cpuid leaf 0: EBX, EDX, ECX).</summary>
    public static string HostVendor()
    {
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        return Signature((uint)ebx, (uint)edx, (uint)ecx);
    }

    /// <summary>Twelve signature bytes from three registers, trailing NULs removed.</summary>
    public static string Signature(uint first, uint second, uint third)
    {
        Span<byte> bytes = stackalloc byte[12];
        BitConverter.TryWriteBytes(bytes, first);
        BitConverter.TryWriteBytes(bytes[4..], second);
        BitConverter.TryWriteBytes(bytes[8..], third);
        return Encoding.ASCII.GetString(bytes).TrimEnd('\0');
    }

    private static (bool FaultingAccepted, bool Traps, string Signature) ProbeCpuid()
    {
        // cpuid(0x40000000); out 0xE4 (a hypercall exit) with the answer in EBX, ECX, EDX.
        byte[] code = Assemble(a =>
        {
            a.mov(eax, 0x4000_0000);
            a.xor(ecx, ecx);
            a.cpuid();
            a.@out((byte)PlatformPorts.Hypercall, al);
        });
        using var vm = new KvmVm(KvmDevice.Open(), new VmBackendOptions(KvmPlatform.MinMemory, ReadOnlyMemory<ushort>.Empty));
        using var vcpu = (KvmVcpu)vm.CreateVcpu(0);
        Load(vm, code);

        // 1. Faulting off: who answers?
        Enter(vcpu);
        VcpuExit exit = RunUntilNot(vcpu, ExitReason.Interrupted);
        if (exit.Reason != ExitReason.Hypercall)
            throw new InvalidOperationException($"platform probe: cpuid without faulting ended with {exit.Reason} at 0x{exit.Rip:x}");
        ref Registers r = ref vcpu.Registers;
        string signature = Signature((uint)r.Rbx, (uint)r.Rcx, (uint)r.Rdx);

        // 2. Faulting on (if the engine takes it): does the same cpuid trap?
        bool accepted = CpuidFaulting.TryEnable(vcpu);
        bool traps = false;
        if (accepted)
        {
            Enter(vcpu);
            exit = RunUntilNot(vcpu, ExitReason.Interrupted);
            traps = exit.Reason == ExitReason.Trap && exit.Rip == Code + 7 && exit.Vector is (byte)ExceptionVector.GeneralProtection;
        }
        return (accepted, traps, signature);
    }

    private static (int OutExits, int InExits) ProbeStringIo()
    {
        byte[] code = Assemble(a =>
        {
            a.mov(rsi, Buffer);
            a.mov(ecx, 256);
            a.mov(edx, (uint)StringIoPort);
            a.rep.outsw();
            a.mov(rdi, Buffer);
            a.mov(ecx, 256);
            a.rep.insw();
            a.@out((byte)PlatformPorts.Hypercall, al);
        });
        // A word access needs both of its ports open in the I/O bitmap.
        using var vm = new KvmVm(KvmDevice.Open(), new VmBackendOptions(KvmPlatform.MinMemory, new[] { StringIoPort, (ushort)(StringIoPort + 1) }));
        using var vcpu = (KvmVcpu)vm.CreateVcpu(0);
        Load(vm, code);
        Enter(vcpu);
        int outExits = 0, inExits = 0;
        long outWords = 0, inWords = 0;
        for (int i = 0; i < ExitBudget; i++)
        {
            VcpuExit exit = RunUntilNot(vcpu, ExitReason.Interrupted);
            if (exit.Reason == ExitReason.Hypercall)
            {
                if (outWords != 256 || inWords != 256)
                    throw new InvalidOperationException($"platform probe: string I/O moved {outWords} and {inWords} words, not 256");
                return (outExits, inExits);
            }
            if (exit.Reason != ExitReason.PortIo || exit.Port != StringIoPort || exit.Size != 2)
                throw new InvalidOperationException($"platform probe: string I/O ended with {exit.Reason} at 0x{exit.Rip:x}");
            if (exit.IsWrite)
            {
                outExits++;
                outWords += exit.Count;
            }
            else
            {
                inExits++;
                inWords += exit.Count;
                exit.DataSpan.Clear();
            }
        }
        throw new InvalidOperationException($"platform probe: string I/O took more than {ExitBudget} exits");
    }

    private static void Load(KvmVm vm, byte[] code)
    {
        if (!vm.Memory.TryWrite(Code, code))
            throw new InvalidOperationException("platform probe: the probe code does not fit");
    }

    private static void Enter(KvmVcpu vcpu)
    {
        ref Registers r = ref vcpu.Registers;
        r = default;
        r.Rip = Code;
        r.Rsp = KvmPlatform.MinMemory - 8;
        r.Rflags = Registers.ReservedOne;
    }

    /// <summary>Runs until an exit other than <paramref name="skip"/>, with a 5-second watchdog so that no host can hang the probe.</summary>
    private static VcpuExit RunUntilNot(KvmVcpu vcpu, ExitReason skip)
    {
        var exit = default(VcpuExit);
        bool expired = false;
        using var watchdog = new Timer(_ => { Volatile.Write(ref expired, true); vcpu.Kick(); }, null, 5000, Timeout.Infinite);
        do
        {
            vcpu.Run(ref exit);
            if (Volatile.Read(ref expired))
                throw new InvalidOperationException("platform probe: the probe guest did not finish within 5 s");
        }
        while (exit.Reason == skip);
        vcpu.ClearKick();
        return exit;
    }

    private static byte[] Assemble(Action<Assembler> build)
    {
        var a = new Assembler(64);
        build(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), Code);
        return stream.ToArray();
    }
}
