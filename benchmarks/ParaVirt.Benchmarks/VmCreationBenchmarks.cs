using System;
using BenchmarkDotNet.Attributes;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;

namespace ParaVirt.Benchmarks;

/// <summary>
/// From nothing to the first hypercall handled: create the VM (KVM_CREATE_VM, RAM, page tables,
/// descriptor tables, vCPU, CPUID, special registers), load a guest, run it to its first hypercall,
/// then dispose it. The mean and median include the dispose.
/// </summary>
[MemoryDiagnoser]
public class VmCreationBenchmarks
{
    [Benchmark(Description = "create VM, run to first hypercall, dispose")]
    public int CreateToFirstHypercall()
    {
        using VirtualMachine vm = GuestCode.CreateVm(a => GuestCode.Hypercall(a, 64));
        vm.Hypercalls.Register(64, "first", static (VirtualMachine vm, in HypercallArgs _) =>
        {
            vm.Stop(FirstHypercall);
            return 0;
        });
        VmStopReason stop = vm.Run();
        if (!ReferenceEquals(stop, FirstHypercall))
            throw new InvalidOperationException(stop.ToString());
        return 0;
    }

    private static readonly VmStopReason FirstHypercall = new(VmStopKind.StopRequested, 0, "first hypercall");
}
