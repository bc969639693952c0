using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ParaVirt.Benchmarks;

/// <summary>Base of the workload columns: finds the values the case's runs recorded (<see cref="IWorkloadCase"/>) and formats them.</summary>
public abstract class WorkloadColumn : IColumn
{
    public abstract string Id { get; }
    public abstract string ColumnName { get; }
    public abstract string Legend { get; }
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        // The case's key is what its runs recorded under; an instance with the case's parameters knows it.
        if (benchmarkCase.Descriptor.Type.GetInterface(nameof(IWorkloadCase)) is null)
            return "-";
        var instance = (IWorkloadCase)System.Activator.CreateInstance(benchmarkCase.Descriptor.Type)!;
        foreach (BenchmarkDotNet.Parameters.ParameterInstance p in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(instance, p.Value);
        return WorkloadMeasurements.TryGet(instance.CaseKey, out double exitsPerOp, out double nsPerOp, out bool stable)
            ? Format(exitsPerOp, nsPerOp, stable)
            : "?";
    }

    protected abstract string Format(double exitsPerOp, double nsPerOp, bool stable);
}

/// <summary>Exact exits per operation inside the guest's measured window ("!" marks counts that changed between runs).</summary>
public sealed class WorkloadExitsColumn : WorkloadColumn
{
    public override string Id => nameof(WorkloadExitsColumn);
    public override string ColumnName => "Exits/op";
    public override string Legend => "Exits per operation inside the guest's measured window (exact; '!' if runs disagreed)";

    protected override string Format(double exitsPerOp, double nsPerOp, bool stable) =>
        exitsPerOp.ToString(exitsPerOp >= 1 ? "0.##" : "0.#####", CultureInfo.InvariantCulture) + (stable ? "" : " !");
}

/// <summary>Time per operation inside the guest's measured window (boot and shutdown excluded).</summary>
public sealed class WorkloadWindowTimeColumn : WorkloadColumn
{
    public override string Id => nameof(WorkloadWindowTimeColumn);
    public override string ColumnName => "Window ns/op";
    public override string Legend => "Nanoseconds per operation inside the guest's measured window (last run)";

    protected override string Format(double exitsPerOp, double nsPerOp, bool stable) => nsPerOp.ToString("N0", CultureInfo.InvariantCulture);
}
