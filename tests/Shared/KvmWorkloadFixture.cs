using System;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Testing;

/// <summary>
/// Base for tests that run the workloads guest on KVM (linked into the test projects that do):
/// ignored with the reason where KVM is unusable; each run's counts are written to the test log.
/// </summary>
public abstract class KvmWorkloadFixture
{
    protected static readonly WorkloadRunner Runner = new();

    [SetUp]
    public void RequireKvm()
    {
        if (!WorkloadRunner.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    protected static WorkloadResult Run(WorkloadDefinition workload, VirtualizationMode mode, long? operations = null, string? diskPath = null, ParaVirt.Vmm.DiskInterface? disk = null, DiskCompletion completion = DiskCompletion.Poll)
    {
        WorkloadResult result = Runner.Run(workload, mode, new WorkloadRunOptions
        {
            Quick = true,
            Operations = operations,
            DiskPath = diskPath,
            DiskInterface = disk,
            Completion = completion,
            Timeout = TimeSpan.FromMinutes(2),
        });
        TestContext.Out.WriteLine($"{result.Workload} {result.Mode} {result.Device} {result.Completion}: {result.Operations} ops, {result.Exits} exits ({string.Join(", ", result.ExitsByReason)}), {result.NsPerOp:F0} ns/op, verified {result.Verified} {result.Failure}");
        return result;
    }

    /// <summary>Runs <paramref name="operations"/> operations and asserts the guest verified them.</summary>
    protected static WorkloadResult RunVerified(WorkloadDefinition workload, VirtualizationMode mode, long operations)
    {
        WorkloadResult result = Run(workload, mode, operations);
        Assert.That(result.Verified, Is.True, () => $"{result.Failure}\n{result.ConsoleTail}");
        return result;
    }

    protected static void AssertVerified(WorkloadResult result)
    {
        Assert.That(result.Verified, Is.True, () => $"{result.Failure}\nconsole tail:\n{result.ConsoleTail}");
        Assert.That(result.ExitCode, Is.Zero);
    }
}
