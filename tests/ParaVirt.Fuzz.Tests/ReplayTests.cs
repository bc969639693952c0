using System.Collections.Generic;
using System.IO;
using ParaVirt.Fuzz.Targets;

namespace ParaVirt.Fuzz.Tests;

/// <summary>Every committed corpus and crash file holds its target's oracle (docs/fuzzing.md).</summary>
[NonParallelizable]
public sealed class ReplayTests
{
    private readonly Dictionary<string, IFuzzTarget> _targets = new();

    [OneTimeTearDown]
    public void DisposeTargets()
    {
        foreach (IFuzzTarget target in _targets.Values)
            target.Dispose();
    }

    private IFuzzTarget Target(string name)
    {
        if (!_targets.TryGetValue(name, out IFuzzTarget? target))
            _targets[name] = target = FuzzTargets.Create(name);
        return target;
    }

    public static IEnumerable<TestCaseData> Corpus() => FuzzFiles.Cases("corpus");

    public static IEnumerable<TestCaseData> Crashes() => FuzzFiles.Cases("crashes");

    [TestCaseSource(nameof(Corpus))]
    public void CorpusInputHoldsTheOracle(string target, string file) =>
        Target(target).Run(File.ReadAllBytes(Path.Combine(FuzzFiles.Root, file)));

    [TestCaseSource(nameof(Crashes))]
    public void FindingStaysFixed(string target, string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(FuzzFiles.Root, file));
        if (!FuzzFiles.Known.TryGetValue(file, out string? defect))
        {
            Target(target).Run(input);
            return;
        }
        // A defect another branch fixes: ignored while it reproduces, a failure once it no longer
        // does (then it is fixed here too: remove the line from fuzz/crashes/KNOWN).
        try
        {
            Target(target).Run(input);
        }
        catch (OracleViolationException ex)
        {
            Assert.Ignore($"known defect {defect}: {ex.Message}");
        }
        Assert.Fail($"{file} no longer reproduces known defect {defect}: remove its line from fuzz/crashes/KNOWN");
    }

    [Test]
    public void EveryTargetHasASeedCorpus()
    {
        foreach (string target in FuzzTargets.Names)
            Assert.That(Directory.Exists(Path.Combine(FuzzFiles.Root, "corpus", target)) && Directory.GetFiles(Path.Combine(FuzzFiles.Root, "corpus", target)).Length > 0,
                Is.True, $"fuzz/corpus/{target} is empty");
    }

    [Test]
    public void EveryKnownDefectFileExists()
    {
        foreach (string file in FuzzFiles.Known.Keys)
            Assert.That(File.Exists(Path.Combine(FuzzFiles.Root, file)), Is.True, $"fuzz/crashes/KNOWN names a missing file {file}");
    }
}
