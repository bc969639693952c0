using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ParaVirt.Benchmarks;

/// <summary>
/// The workload benchmark's job: in process (the columns read counts recorded by the runs), one
/// invocation per iteration (an invocation is a whole VM run), one warm-up and five measured
/// iterations, plus the exits-per-operation and window-time columns.
/// </summary>
public sealed class WorkloadBenchmarkConfig : ManualConfig
{
    public WorkloadBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId("workload"));
        AddColumn(new WorkloadExitsColumn(), new WorkloadWindowTimeColumn());
    }
}
