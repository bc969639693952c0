using System;
using System.Collections.Generic;
using System.Linq;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// The images <c>paravirt compare</c> measures: the workloads guest's pair (found by
/// <see cref="WorkloadImages"/>), or a user's own pair given with <c>--full-image A.pvimg
/// --para-image B.pvimg</c>. A user pair runs the workloads named with <c>--workload</c>: a catalog
/// name keeps the catalog's host-side check, any other one-word name is a
/// <see cref="WorkloadDefinition.ForUserImage"/> workload (docs/workloads.md).
/// </summary>
internal sealed class CompareImages
{
    /// <summary>Operations per workload of a user pair without --operations or --quick.</summary>
    public const long DefaultOperations = 1000;

    private readonly string? _full, _para;
    private readonly long? _operations;

    private CompareImages(string? full, string? para, long? operations)
    {
        _full = full;
        _para = para;
        _operations = operations;
    }

    public bool IsUserPair => _full is not null;

    public static CompareImages FromArguments(Arguments parsed)
    {
        string? full = parsed.Value("--full-image"), para = parsed.Value("--para-image");
        if ((full is null) != (para is null))
            throw Arguments.Usage("compare", full is null ? "option '--para-image' needs '--full-image' too (a pair is measured)" : "option '--full-image' needs '--para-image' too (a pair is measured)");
        if (full is not null && parsed.All("--workload").Count == 0)
            throw Arguments.Usage("compare", "an image pair needs at least one '--workload NAME' (the guest's command line word)");
        long? operations = parsed.Value("--operations") is null ? null : (long)parsed.Number("--operations", 0, 1, 1e9);
        return new CompareImages(full, para, operations);
    }

    /// <summary>The image of <paramref name="mode"/> to run, or null for the workloads guest's.</summary>
    public string? For(VirtualizationMode mode) => mode == VirtualizationMode.Full ? _full : _para;

    /// <summary>The workloads of a user pair, in the order named.</summary>
    public List<WorkloadDefinition> Workloads(IReadOnlyList<string> names)
    {
        var selected = new List<WorkloadDefinition>();
        foreach (string name in names.Distinct(StringComparer.Ordinal))
        {
            try
            {
                selected.Add(WorkloadCatalog.Find(name) ?? WorkloadDefinition.ForUserImage(name, _operations ?? DefaultOperations));
            }
            catch (ArgumentException ex)
            {
                throw Arguments.Usage("compare", $"option '--workload': {ex.Message.Split(" (Parameter", 2)[0]}");
            }
        }
        return selected;
    }

    /// <summary>Before anything runs: every image exists and is a valid .pvimg (one line, <see cref="ExitCodes.BadImage"/>).</summary>
    public void Check()
    {
        foreach (VirtualizationMode mode in new[] { VirtualizationMode.Full, VirtualizationMode.Para })
        {
            if (For(mode) is { } path)
            {
                RunCommand.ReadImage(path);
                continue;
            }
            try
            {
                WorkloadImages.Find(mode);
            }
            catch (WorkloadException ex)
            {
                throw new CliException(ex.Message, ExitCodes.BadImage);
            }
        }
    }
}
