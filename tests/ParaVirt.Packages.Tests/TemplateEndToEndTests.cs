using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.RegularExpressions;
using ParaVirt.Vmm;

namespace ParaVirt.Packages.Tests;

/// <summary>
/// From packages to a running guest, outside the repository (README: "From packages"):
/// <c>dotnet pack</c> writes every package into a temporary folder (with a version of its own, so
/// no package cache can hold a stale copy); projects are created from the templates in another
/// temporary folder whose NuGet.config names that folder and the machine's usual sources; they
/// are built there; the guests run through the packaged <c>paravirt</c> tool
/// (<c>dotnet tool install --tool-path</c>) and through the device template's host program.
/// Everything is deleted afterwards. The runs need a usable /dev/kvm and are skipped, with the
/// reason, without one; packing and building are checked anyway.
/// </summary>
[NonParallelizable]
public sealed class TemplateEndToEndTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Short = TimeSpan.FromMinutes(3);

    private static readonly string[] Packages =
    [
        "ParaVirt.Abi", "ParaVirt.Core", "ParaVirt.Kvm", "ParaVirt.Virtio", "ParaVirt.Devices.Emulated",
        "ParaVirt.Devices.Virtio", "ParaVirt.Cpu", "ParaVirt.HostCalls", "ParaVirt.Image", "ParaVirt.Mmu", "ParaVirt.Vmm",
        "ParaVirt.Cli", "ParaVirt.Guest.Sdk", "ParaVirt.Templates",
    ];

    private string _root = null!;
    private string _packages = null!;
    private string _work = null!;
    private string _tools = null!;
    private string _hive = null!;
    private string _version = null!;
    private Dictionary<string, string> _environment = null!;
    private readonly Stopwatch _watch = new();

    private string Paravirt => Path.Combine(_tools, "paravirt");

    [OneTimeSetUp]
    public void PackInstallTheToolAndTheTemplates()
    {
        _watch.Start();
        string repository = Repository.Find();
        _root = Directory.CreateTempSubdirectory("paravirt-e2e-").FullName;
        _packages = Path.Combine(_root, "packages");
        _work = Path.Combine(_root, "work");
        _tools = Path.Combine(_root, "tools");
        _hive = Path.Combine(_root, "template-hive");
        Directory.CreateDirectory(_work);
        _environment = new Dictionary<string, string>
        {
            ["NUGET_PACKAGES"] = Path.Combine(_root, "nuget-packages"),
            ["MSBUILDTERMINALLOGGER"] = "off",
        };

        // A version no cache has seen: the repository's, with a pre-release suffix of this run.
        string prefix = Regex.Match(File.ReadAllText(Path.Combine(repository, "Directory.Build.props")), "<VersionPrefix>([^<]+)</VersionPrefix>").Groups[1].Value;
        Assert.That(prefix, Is.Not.Empty, "Directory.Build.props names the version");
        _version = $"{prefix}-e2e.{DateTime.UtcNow:yyyyMMddHHmmss}";

        // The machine's usual package sources and package folder, read before our NuGet.config exists.
        IReadOnlyList<string> sources = MachineSources();
        string machinePackages = MachinePackagesFolder();

        // Build as the repository builds (a no-op after `dotnet test ParaVirt.sln -c Release`), then
        // pack those outputs with the run's version: a global PackageVersion on a build would
        // re-restore and recompile every project.
        ToolResult build = InRepository(repository, Long, "build", "ParaVirt.Packages.slnf", "-c", "Release", "-nodeReuse:false", "-p:UseSharedCompilation=false");
        Assert.That(build.ExitCode, Is.Zero, build.ToString());
        ToolResult pack = InRepository(repository, Long, "pack", "ParaVirt.Packages.slnf", "-c", "Release", "--no-build", "-o", _packages,
            $"-p:PackageVersion={_version}", "-nodeReuse:false");
        Assert.That(pack.ExitCode, Is.Zero, pack.ToString());

        WriteNuGetConfig(Path.Combine(_root, "NuGet.config"), sources, machinePackages);

        ToolResult tool = Dotnet(_root, Short, "tool", "install", "ParaVirt.Cli", "--version", _version, "--tool-path", _tools,
            "--configfile", Path.Combine(_root, "NuGet.config"));
        Assert.That(tool.ExitCode, Is.Zero, tool.ToString());

        ToolResult templates = Dotnet(_root, Short, "new", "install", Path.Combine(_packages, $"ParaVirt.Templates.{_version}.nupkg"), "--debug:custom-hive", _hive);
        Assert.That(templates.ExitCode, Is.Zero, templates.ToString());
    }

    [OneTimeTearDown]
    public void DeleteEverything()
    {
        TestContext.Progress.WriteLine($"packages end to end: {_watch.Elapsed.TotalSeconds:F0} s");
        if (_root is not null && Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    [Test]
    public void EveryPackageIsWrittenWithItsMetadata()
    {
        foreach (string id in Packages)
            Assert.That(File.Exists(Path.Combine(_packages, $"{id}.{_version}.nupkg")), Is.True, $"{id} {_version}");

        using ZipArchive vmm = ZipFile.OpenRead(Path.Combine(_packages, $"ParaVirt.Vmm.{_version}.nupkg"));
        string nuspec = Read(vmm, "ParaVirt.Vmm.nuspec");
        Assert.Multiple(() =>
        {
            Assert.That(nuspec, Does.Contain("<license type=\"expression\">MIT</license>"));
            Assert.That(nuspec, Does.Contain("<readme>README.md</readme>"));
            Assert.That(nuspec, Does.Contain("<repository type=\"git\""));
            Assert.That(nuspec, Does.Contain($"<dependency id=\"ParaVirt.Kvm\" version=\"{_version}\""));
            Assert.That(vmm.GetEntry("lib/net10.0/ParaVirt.Vmm.xml"), Is.Not.Null, "XML docs");
            Assert.That(vmm.GetEntry("README.md"), Is.Not.Null);
        });

        using ZipArchive sdk = ZipFile.OpenRead(Path.Combine(_packages, $"ParaVirt.Guest.Sdk.{_version}.nupkg"));
        Assert.Multiple(() =>
        {
            Assert.That(Read(sdk, "ParaVirt.Guest.Sdk.nuspec"), Does.Contain("<packageType name=\"MSBuildSdk\" />"));
            foreach (string entry in new[] { "Sdk/Sdk.props", "Sdk/Sdk.targets", "Sdk/runtime/ParaVirt.Guest.Runtime.dll", "Sdk/tools/ParaVirt.ImageBuilder/ParaVirt.ImageBuilder.dll", "Sdk/ParaVirt.Guest/Virtio/Virtqueue.cs" })
                Assert.That(sdk.GetEntry(entry), Is.Not.Null, entry);
        });
    }

    /// <summary>
    /// A host program that references only the ParaVirt.Vmm package gets every ParaVirt assembly that
    /// Vmm's public API (MachineBuilder, Machine, the debugger, the engines) names: each is Vmm
    /// itself or a package in the closure of Vmm's nuspec dependencies.
    /// </summary>
    [Test]
    public void TheVmmPackageBringsEveryAssemblyItsPublicApiNames()
    {
        var closure = new HashSet<string>(StringComparer.Ordinal) { "ParaVirt.Vmm" };
        var pending = new Queue<string>(closure);
        while (pending.TryDequeue(out string? id))
        {
            string nupkg = Path.Combine(_packages, $"{id}.{_version}.nupkg");
            Assert.That(File.Exists(nupkg), Is.True, $"the package {id} that the closure needs");
            using ZipArchive package = ZipFile.OpenRead(nupkg);
            foreach (Match dependency in Regex.Matches(Read(package, $"{id}.nuspec"), @"<dependency id=""(ParaVirt\.[^""]+)"""))
                if (closure.Add(dependency.Groups[1].Value))
                    pending.Enqueue(dependency.Groups[1].Value);
        }
        string[] named = PublicApi.AssembliesNamedBy(typeof(MachineBuilder).Assembly).Where(a => a.StartsWith("ParaVirt.", StringComparison.Ordinal)).Order().ToArray();
        Assert.That(named, Does.Contain("ParaVirt.Mmu").And.Contain("ParaVirt.Devices.Emulated").And.Contain("ParaVirt.Image"), "the scan sees the builder's API");
        Assert.That(named.Where(a => !closure.Contains(a)), Is.Empty, $"named by ParaVirt.Vmm's public API but not in its package closure ({string.Join(", ", closure.Order())})");
        Assert.That(closure, Does.Not.Contain("ParaVirt.HostCalls"), "host calls are a package of their own (docs/packages.md)");
    }

    [Test]
    public void TheKernelTemplateBuildsAFullModeGuestThatThePackagedToolRuns()
    {
        string project = Path.Combine(_work, "HelloKernel");
        Succeed(Dotnet(_work, Short, "new", "paravirt-kernel", "-n", "HelloKernel", "--mode", "full", "-o", project, "--debug:custom-hive", _hive));
        Succeed(Dotnet(project, Long, "build", "-c", "Release", "-nodeReuse:false"));
        string image = Path.Combine(project, "bin", "Release", "net10.0", "HelloKernel.pvimg");
        Assert.That(File.Exists(image), Is.True, image);
        AssertNothingWrittenIntoThePackageCache();

        RequireKvm();
        ToolResult run = Tool.Run(Paravirt, ["run", image, "--mode", "full", "--quiet"], project, _environment, Short);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Stdout, Does.StartWith("Hello from HelloKernel, a ParaVirt guest kernel (full mode)\n"), run.ToString());
        });
    }

    [Test]
    public void TheDeviceTemplateRunsItsGuestWithItsDeviceThroughItsHostProgramAndThroughThePackagedTool()
    {
        string solution = Path.Combine(_work, "MyRng");
        Succeed(Dotnet(_work, Short, "new", "paravirt-device", "-n", "MyRng", "-o", solution, "--debug:custom-hive", _hive));
        Succeed(Dotnet(solution, Long, "build", "MyRng.Host", "-c", "Release", "-nodeReuse:false"));
        string host = Path.Combine(solution, "MyRng.Host", "bin", "Release", "net10.0", "MyRng.Host.dll");
        string image = Path.Combine(solution, "MyRng.Guest", "bin", "Release", "net10.0", "MyRng.Guest.pvimg");
        string devices = Path.Combine(solution, "MyRng.Device", "bin", "Release", "net10.0", "MyRng.Device.dll");
        foreach (string file in new[] { host, image, devices })
            Assert.That(File.Exists(file), Is.True, file);
        AssertNothingWrittenIntoThePackageCache();

        RequireKvm();
        const string Line = @"^myrng: 32 random bytes from the device: [0-9a-f]{64}\n";
        ToolResult program = Tool.Run(Tool.Dotnet, [host], solution, _environment, Short);
        Assert.Multiple(() =>
        {
            Assert.That(program.ExitCode, Is.Zero, program.ToString());
            Assert.That(program.Stdout, Does.Match(Line), program.ToString());
            Assert.That(program.Stderr, Does.Contain("GuestShutdown (exit code 0): the device delivered 32 bytes"), program.ToString());
        });

        // The packaged tool loads the device from its assembly by its [VirtioDevice] name.
        ToolResult run = Tool.Run(Paravirt, ["run", image, "--mode", "para", "--quiet", "--device-assembly", devices, "--device", "myrng"], solution, _environment, Short);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Stdout, Does.Match(Line), run.ToString());
        });

        // Without the device, the guest's driver says so, by name.
        ToolResult without = Tool.Run(Paravirt, ["run", image, "--mode", "para", "--quiet"], solution, _environment, Short);
        Assert.Multiple(() =>
        {
            Assert.That(without.ExitCode, Is.EqualTo(1), without.ToString());
            Assert.That(without.Stdout, Is.EqualTo("myrng: cannot open the entropy device: no device\n"), without.ToString());
        });
    }

    [Test]
    public void ATemplateGivenABadNameStopsTheFirstBuildWithOneLineAndExitCodeOne()
    {
        string project = Path.Combine(_work, "bad");
        Succeed(Dotnet(_work, Short, "new", "paravirt-kernel", "-n", "1-bad", "-o", project, "--debug:custom-hive", _hive));
        ToolResult build = Dotnet(project, Short, "build", "-c", "Release", "-nodeReuse:false");
        string[] errors = (build.Stdout + build.Stderr).Split('\n')
            .Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase) && !l.Contains("Error(s)", StringComparison.Ordinal))
            .Select(l => l.Trim()).Distinct().ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(build.ExitCode, Is.EqualTo(1), build.ToString());
            Assert.That(errors, Has.Length.EqualTo(1), build.ToString());
            Assert.That(errors.FirstOrDefault(), Does.Contain("error PVT001: ParaVirt template: the name given to `dotnet new -n` is not usable"), build.ToString());
        });
    }

    private ToolResult Dotnet(string directory, TimeSpan timeout, params string[] args) => Tool.Run(Tool.Dotnet, args, directory, _environment, timeout);

    /// <summary>
    /// Builds and packs in the repository with the machine's own package folder: with this run's
    /// folder, restore would point the repository's obj/ at packages that are deleted after the
    /// run, under test projects that are still running.
    /// </summary>
    private static ToolResult InRepository(string directory, TimeSpan timeout, params string[] args) =>
        Tool.Run(Tool.Dotnet, args, directory, new Dictionary<string, string> { ["MSBUILDTERMINALLOGGER"] = "off" }, timeout);

    private static void Succeed(ToolResult result) => Assert.That(result.ExitCode, Is.Zero, result.ToString());

    private static void RequireKvm()
    {
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"built; running needs KVM, which is not usable here: {reason}");
    }

    /// <summary>Builds write into the project only: the guest SDK's folder in the package cache holds only what the package holds.</summary>
    private void AssertNothingWrittenIntoThePackageCache()
    {
        string sdk = Path.Combine(_environment["NUGET_PACKAGES"], "paravirt.guest.sdk", _version.ToLowerInvariant());
        Assert.That(Directory.Exists(sdk), Is.True, sdk);
        string[] files = Directory.GetFiles(sdk, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(sdk, f).Replace('\\', '/'))
            .Where(f => !f.EndsWith(".nupkg", StringComparison.Ordinal) && !f.EndsWith(".sha512", StringComparison.Ordinal) && !f.EndsWith(".nuspec", StringComparison.Ordinal) && f != ".nupkg.metadata" && f != "README.md" && f != ".signature.p7s")
            .ToArray();
        using ZipArchive package = ZipFile.OpenRead(Path.Combine(_packages, $"ParaVirt.Guest.Sdk.{_version}.nupkg"));
        HashSet<string> packed = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.That(files.Where(f => !packed.Contains(f)), Is.Empty, "files in the package cache that the package does not hold");
    }

    private static string Read(ZipArchive archive, string entry)
    {
        using var reader = new StreamReader(archive.GetEntry(entry)!.Open());
        return reader.ReadToEnd();
    }

    /// <summary>The enabled sources of `dotnet nuget list source` outside any repository (the user's and machine's NuGet.Config).</summary>
    private IReadOnlyList<string> MachineSources()
    {
        ToolResult list = Dotnet(_root, Short, "nuget", "list", "source", "--format", "short");
        Assert.That(list.ExitCode, Is.Zero, list.ToString());
        List<string> sources = list.Stdout.Split('\n').Select(l => l.Trim())
            .Where(l => l.StartsWith("E ", StringComparison.Ordinal)).Select(l => l[2..].Trim()).ToList();
        Assert.That(sources, Is.Not.Empty, "the machine has no enabled package source\n" + list);
        return sources;
    }

    private string MachinePackagesFolder()
    {
        ToolResult list = Tool.Run(Tool.Dotnet, ["nuget", "locals", "global-packages", "--list"], _root, new Dictionary<string, string>(), Short);
        Match folder = Regex.Match(list.Stdout, @"global-packages:\s*(\S.*)");
        Assert.That(folder.Success, Is.True, list.ToString());
        return folder.Groups[1].Value.Trim();
    }

    /// <summary>
    /// The packages folder first, then the machine's sources; packages the machine already has
    /// (NativeAOT's ilc, the test host's dependencies) come from its package folder as a fallback.
    /// </summary>
    private static void WriteNuGetConfig(string path, IReadOnlyList<string> sources, string machinePackages)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
        text.AppendLine("<configuration>");
        text.AppendLine("  <packageSources>");
        text.AppendLine("    <clear />");
        text.AppendLine($"    <add key=\"paravirt-e2e\" value=\"{System.Security.SecurityElement.Escape(Path.Combine(Path.GetDirectoryName(path)!, "packages"))}\" />");
        for (int i = 0; i < sources.Count; i++)
            text.AppendLine($"    <add key=\"machine-{i}\" value=\"{System.Security.SecurityElement.Escape(sources[i])}\" />");
        text.AppendLine("  </packageSources>");
        text.AppendLine("  <fallbackPackageFolders>");
        text.AppendLine($"    <add key=\"machine\" value=\"{System.Security.SecurityElement.Escape(machinePackages)}\" />");
        text.AppendLine("  </fallbackPackageFolders>");
        text.AppendLine("</configuration>");
        File.WriteAllText(path, text.ToString());
    }
}
