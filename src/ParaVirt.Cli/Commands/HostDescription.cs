using System;
using System.Globalization;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// The host a measurement was taken on, as reports name it: CPU model, cores, kernel, KVM modules,
/// engine, date (UTC) and the load average when the report was written (a shared machine's times are
/// noisier: a reader should know).
/// </summary>
internal sealed record HostDescription(string Cpu, int Cores, string Kernel, string KvmModules, string Engine, DateTime DateUtc, double? LoadAverage)
{
    public static HostDescription Current(string engine) =>
        new(MachineInfo.CpuModel(), Environment.ProcessorCount, MachineInfo.KernelRelease(), MachineInfo.KvmModules(), engine, DateTime.UtcNow, MachineInfo.LoadAverage());

    /// <summary>"AMD EPYC 7B13, 2 cores, Linux 6.8.0, KVM modules kvm_amd, kvm, engine kvm, 2026-11-30".</summary>
    public override string ToString() =>
        $"{Cpu}, {Cores} cores, Linux {Kernel}, KVM modules {KvmModules}, engine {Engine}, {DateUtc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}"
        + (LoadAverage is { } load ? $", load average {load.ToString("F2", CultureInfo.InvariantCulture)}" : "");
}
