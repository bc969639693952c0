using System;
using System.IO;
using Iced.Intel;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm.Platform;
using ParaVirt.Vmm;

namespace ParaVirt.Benchmarks;

/// <summary>Small hand-assembled guests for the engine benchmarks (the workload benchmarks use C# guest images).</summary>
internal static class GuestCode
{
    public const ulong Entry = KvmPlatform.GuestRamStart;

    /// <summary>Creates a bare 4 MiB machine on the default engine (<see cref="Engines.Default"/>) whose vCPU enters the code <paramref name="build"/> emits.</summary>
    public static VirtualMachine CreateVm(Action<Assembler> build, VmOptions? options = null)
    {
        var a = new Assembler(64);
        build(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), Entry);
        VirtualMachine vm = MachineBuilder.Create(Engines.Default).WithVmOptions(options ?? new VmOptions { MemorySize = 4UL << 20 }).Build().Vm;
        vm.Memory.TryWrite(Entry, stream.ToArray());
        vm.PrepareEntry(Entry);
        return vm;
    }

    /// <summary>Emits a call through the hypercall page stub of <paramref name="number"/>.</summary>
    public static void Hypercall(Assembler a, uint number)
    {
        a.mov(AssemblerRegisters.r11, KvmPlatform.HypercallPage + number * ParaVirt.Abi.HypercallPage.StubSize);
        a.call(AssemblerRegisters.r11);
    }
}
