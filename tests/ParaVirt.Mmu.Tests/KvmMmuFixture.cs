using System.IO;
using Iced.Intel;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm;
using ParaVirt.Kvm.Platform;
using ParaVirt.Vmm;

namespace ParaVirt.Mmu.Tests;

/// <summary>Base for MMU tests on real KVM: skips with the reason where KVM is unusable; guests assembled with Iced.</summary>
public abstract class KvmMmuFixture
{
    /// <summary>Where test guests are loaded and entered.</summary>
    protected const ulong CodeAddress = KvmPlatform.GuestRamStart;

    [SetUp]
    public void RequireKvm()
    {
        if (!KvmHypervisor.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    /// <summary>Emits a call through the hypercall page: arguments already in registers (RCX for the 4th).</summary>
    protected static void Hypercall(Assembler a, uint number)
    {
        a.mov(AssemblerRegisters.r11, KvmPlatform.HypercallPage + number * ParaVirt.Abi.HypercallPage.StubSize);
        a.call(AssemblerRegisters.r11);
    }

    /// <summary>Emits shutdown(<paramref name="code"/>).</summary>
    protected static void Exit(Assembler a, int code)
    {
        a.mov(AssemblerRegisters.edi, code);
        Hypercall(a, 4);
    }

    /// <summary>A machine (bare, or with <paramref name="mode"/>'s platform) entering <paramref name="build"/>'s code.</summary>
    protected static Machine CreateMachine(Action<Assembler> build, VirtualizationMode? mode = null, ulong memory = 8UL << 20)
    {
        MachineBuilder builder = MachineBuilder.Create(new KvmHypervisor()).WithMemory(memory);
        if (mode is { } m)
            builder.WithMode(m);
        Machine machine = builder.Build();
        try
        {
            var a = new Assembler(64);
            build(a);
            var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), CodeAddress);
            Assert.That(machine.Vm.Memory.TryWrite(CodeAddress, stream.ToArray()), Is.True);
            machine.Vm.PrepareEntry(CodeAddress);
            return machine;
        }
        catch
        {
            machine.Dispose();
            throw;
        }
    }

    /// <summary>Runs to completion with a generous watchdog.</summary>
    protected static VmStopReason RunToStop(VirtualMachine vm) => vm.Run(TimeSpan.FromSeconds(20));
}
