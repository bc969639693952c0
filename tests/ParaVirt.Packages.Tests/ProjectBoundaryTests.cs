using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace ParaVirt.Packages.Tests;

/// <summary>
/// The project boundaries issue H asks for, read from the project files themselves: the product
/// (<c>src/</c>) builds from nothing under <c>guest-sdk/samples</c>, so a sample can change or go
/// without touching what is packed and shipped; and the sources: one composition root creates every VM.
/// </summary>
[TestFixture]
public sealed class ProjectBoundaryTests
{
    private static readonly Regex PathAttribute = new(@"(?:Include|Project)=""([^""]+)""", RegexOptions.Compiled);

    [Test]
    public void NoSourceProjectReferencesAFileUnderTheSamples()
    {
        string repository = Repository.Find();
        string samples = Path.GetFullPath(Path.Combine(repository, "guest-sdk", "samples")) + Path.DirectorySeparatorChar;
        var files = Directory.EnumerateFiles(Path.Combine(repository, "src"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".csproj") || f.EndsWith(".props") || f.EndsWith(".targets"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        Assert.That(files, Has.Count.GreaterThan(10), "the scan found the src/ project files");
        var offending = (from file in files
                         from Match m in PathAttribute.Matches(File.ReadAllText(file))
                         let target = m.Groups[1].Value.Replace('\\', '/')
                         where !target.StartsWith('$') // $(...)-rooted paths are checked by their expansion below
                         let full = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, target))
                         where full.StartsWith(samples)
                         select $"{Path.GetRelativePath(repository, file)} -> {target}").ToList();
        offending.AddRange(from file in files
                           where File.ReadAllText(file).Contains("samples/", System.StringComparison.Ordinal)
                           select $"{Path.GetRelativePath(repository, file)} names a samples/ path");
        Assert.That(offending, Is.Empty);
    }

    private static readonly Regex VmConstruction = new(@"new\s+VirtualMachine\s*\(|VirtualMachine\??\s+\w+\s*=\s*new\s*\(", RegexOptions.Compiled);

    /// <summary>
    /// "Every VM in the product, the benchmarks and the tests is built in one place": no C# file
    /// under src/, tests/, benchmarks/ or fuzz/ constructs a <c>VirtualMachine</c> but the machine
    /// builder (a test or fuzz target hands its engine to <c>MachineBuilder.Create(IHypervisor)</c>).
    /// </summary>
    [Test]
    public void OnlyTheMachineBuilderConstructsAVirtualMachine()
    {
        string repository = Repository.Find();
        string separator = Path.DirectorySeparatorChar.ToString();
        var files = new[] { "src", "tests", "benchmarks", "fuzz" }
            .SelectMany(root => Directory.EnumerateFiles(Path.Combine(repository, root), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{separator}obj{separator}") && !f.Contains($"{separator}bin{separator}"))
            .ToList();
        Assert.That(files, Has.Count.GreaterThan(100), "the scan found the C# files");
        var constructing = (from file in files
                            where VmConstruction.IsMatch(File.ReadAllText(file))
                            select Path.GetRelativePath(repository, file).Replace('\\', '/')).ToList();
        Assert.That(constructing, Is.EqualTo(new[] { "src/ParaVirt.Vmm/MachineBuilder.cs" }));
    }
}

/// <summary>The repository this test runs from.</summary>
internal static class Repository
{
    public static string Find()
    {
        for (DirectoryInfo? d = new(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ParaVirt.Packages.slnf")))
                return d.FullName;
        throw new System.InvalidOperationException("the repository (ParaVirt.Packages.slnf) is not above the test directory");
    }
}
