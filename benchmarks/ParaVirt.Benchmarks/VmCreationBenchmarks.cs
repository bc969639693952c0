using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;

namespace ParaVirt.Benchmarks;

/// <summary>
/// From nothing to the first hypercall handled: create the VM (KVM_CREATE_VM, RAM, page tables,
/// descriptor tables, vCPU, CPUID, special registers), load a guest and run it to its first
/// hypercall. Disposing the VM is not part of the operation: it happens in the iteration cleanup,
/// so each iteration is one VM (compare the median, as the target does).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 10, iterationCount: 100, invocationCount: 1)]
public class VmCreationBenchmarks
{
    private static readonly VmStopReason FirstHypercall = new(VmStopKind.StopRequested, 0, "first hypercall");

    private VirtualMachine? _vm;

    [Benchmark(Description = "create VM, run to first hypercall")]
    public VmStopReason CreateToFirstHypercall()
    {
        _vm = GuestCode.CreateVm(a => GuestCode.Hypercall(a, 64));
        _vm.Hypercalls.Register(64, "first", static (VirtualMachine vm, in HypercallArgs _) =>
        {
            vm.Stop(FirstHypercall);
            return 0;
        });
        VmStopReason stop = _vm.Run();
        if (!ReferenceEquals(stop, FirstHypercall))
            throw new InvalidOperationException(stop.ToString());
        return stop;
    }

    [IterationCleanup]
    public void DisposeVm()
    {
        _vm?.Dispose();
        _vm = null;
    }
}
