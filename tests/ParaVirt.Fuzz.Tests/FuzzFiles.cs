using System.Collections.Generic;
using System.IO;
using System.Linq;
using ParaVirt.Fuzz.Targets;

namespace ParaVirt.Fuzz.Tests;

/// <summary>The committed fuzz inputs: fuzz/corpus/TARGET/* and fuzz/crashes/TARGET/*, and the known-defect list.</summary>
internal static class FuzzFiles
{
    /// <summary>The repository's fuzz folder, found upwards from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "fuzz", "corpus");
            if (Directory.Exists(candidate))
                return Path.Combine(dir.FullName, "fuzz");
        }
        throw new DirectoryNotFoundException("fuzz/corpus not found above " + TestContext.CurrentContext.TestDirectory);
    }

    /// <summary>Every input of one kind ("corpus" or "crashes"), as test cases named TARGET/FILE.</summary>
    public static IEnumerable<TestCaseData> Cases(string kind)
    {
        foreach (string target in FuzzTargets.Names)
        {
            string folder = Path.Combine(Root, kind, target);
            if (!Directory.Exists(folder))
                continue;
            foreach (string file in Directory.EnumerateFiles(folder).Order())
                yield return new TestCaseData(target, Path.GetRelativePath(Root, file)).SetName($"{kind}/{target}/{Path.GetFileName(file)}");
        }
    }

    /// <summary>
    /// Crash files of defects that another branch fixes (fuzz/crashes/KNOWN: "path defect description"
    /// per line): until the fix lands they are reported as ignored with the defect's name.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Known { get; } = LoadKnown();

    private static Dictionary<string, string> LoadKnown()
    {
        var known = new Dictionary<string, string>();
        string list = Path.Combine(Root, "crashes", "KNOWN");
        if (!File.Exists(list))
            return known;
        foreach (string line in File.ReadLines(list))
        {
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
                continue;
            int space = trimmed.IndexOf(' ');
            known[trimmed[..space]] = trimmed[(space + 1)..];
        }
        return known;
    }
}
