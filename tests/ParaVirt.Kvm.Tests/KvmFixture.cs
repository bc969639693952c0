using System.IO;
using System.IO.Pipelines;
using System.Text;
using Iced.Intel;
using ParaVirt.Abi;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm.Platform;
using ParaVirt.Vmm;

namespace ParaVirt.Kvm.Tests;

/// <summary>Base for tests that need real KVM: skips with the reason where it is unusable, and builds guests from Iced code.</summary>
public abstract class KvmFixture
{
    /// <summary>Where test guests are loaded and entered.</summary>
    protected const ulong CodeAddress = KvmPlatform.GuestRamStart;

    [SetUp]
    public void RequireKvm()
    {
        if (!KvmHypervisor.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    /// <summary>Assembles 64-bit code placed at <paramref name="rip"/>.</summary>
    protected static byte[] Assemble(Action<Assembler> build, ulong rip = CodeAddress)
    {
        var a = new Assembler(64);
        build(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), rip);
        return stream.ToArray();
    }

    /// <summary>Emits a call through the hypercall page: number in the stub, arguments already in registers.</summary>
    protected static void Hypercall(Assembler a, uint number)
    {
        a.mov(AssemblerRegisters.r11, KvmPlatform.HypercallPage + number * ParaVirt.Abi.HypercallPage.StubSize);
        a.call(AssemblerRegisters.r11);
    }

    /// <summary>Creates a bare KVM machine (engine-level tests: no platform, no CPU virtualization) whose vCPU enters <paramref name="build"/>'s code.</summary>
    protected static VirtualMachine CreateVm(Action<Assembler> build, VmOptions? options = null)
    {
        VirtualMachine vm = CreateBareVm(options ?? new VmOptions { MemorySize = 4UL << 20 });
        try
        {
            byte[] code = Assemble(build);
            Assert.That(vm.Memory.TryWrite(CodeAddress, code), Is.True);
            vm.PrepareEntry(CodeAddress);
            return vm;
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    /// <summary>A bare machine on the KVM engine, from the machine builder.</summary>
    protected static VirtualMachine CreateBareVm(VmOptions options) => MachineBuilder.Create(new KvmHypervisor()).WithVmOptions(options).Build().Vm;

    /// <summary>Runs to completion with a generous watchdog, so a broken test cannot hang the suite.</summary>
    protected static VmStopReason RunToStop(VirtualMachine vm) => vm.Run(TimeSpan.FromSeconds(10));

    /// <summary>Reads everything a pipe holds (after the VM stopped).</summary>
    protected static string ReadAll(Pipe pipe)
    {
        pipe.Writer.Complete();
        ReadResult result = pipe.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        string text = Encoding.UTF8.GetString(result.Buffer);
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }
}
