using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace ParaVirt.Image;

/// <summary>
/// Runs ilc (NativeAOT's compiler) on a guest assembly against the guest runtime as the system
/// module and produces an ELF object. When ilc fails, its first error is turned into one readable
/// line (for instance, a type the guest runtime lacks names the C# feature that needed it); the
/// full output is kept in <c>&lt;object&gt;.ilc.log</c>.
/// </summary>
/// <example><code>
/// IlcRunner.Compile(ilcPath, "obj/Hello.dll", "ParaVirt.Guest.Runtime.dll", "obj/Hello.o");
/// </code></example>
public static partial class IlcRunner
{
    /// <summary>
    /// The arguments ilc gets besides the inputs and output. <c>-g</c> makes ilc emit DWARF (line
    /// tables from the assemblies' portable PDBs) in sections the image never loads; the code it
    /// generates is the same byte for byte.
    /// </summary>
    public const string StandardArguments = "--nativelib --targetos:linux --targetarch:x64 -O -g";

    /// <summary>Compiles <paramref name="guestAssembly"/> into <paramref name="objectPath"/>.</summary>
    public static void Compile(string ilcPath, string guestAssembly, string corelib, string objectPath, string? extraArguments = null)
    {
        if (!File.Exists(ilcPath))
            throw new ImageBuildException($"ilc not found at {ilcPath}: run `dotnet restore` to download the ILCompiler package");
        string systemModule = Path.GetFileNameWithoutExtension(corelib);
        var start = new ProcessStartInfo(ilcPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(guestAssembly);
        start.ArgumentList.Add(corelib);
        start.ArgumentList.Add($"--systemmodule:{systemModule}");
        foreach (string a in StandardArguments.Split(' '))
            start.ArgumentList.Add(a);
        start.ArgumentList.Add($"-o:{objectPath}");
        if (!string.IsNullOrWhiteSpace(extraArguments))
        {
            foreach (string a in extraArguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start) ?? throw new ImageBuildException($"could not start {ilcPath}");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        string log = output.ToString();
        string logPath = objectPath + ".ilc.log";
        File.WriteAllText(logPath, log);
        if (process.ExitCode != 0)
            throw new ImageBuildException($"ilc failed compiling {Path.GetFileName(guestAssembly)}: {Explain(log, systemModule)} (full ilc output: {logPath})");
    }

    /// <summary>One readable line for ilc's output <paramref name="log"/>.</summary>
    public static string Explain(string log, string systemModule)
    {
        ArgumentNullException.ThrowIfNull(log);
        Match m = MissingType().Match(log);
        if (m.Success)
        {
            string feature = m.Groups[1].Value switch
            {
                "System.Runtime.RuntimeExports" => "boxing a value type (object o = 42) or another runtime allocation service",
                "System.Exception" or "System.Runtime.EH" => "throwing or catching exceptions",
                "System.Runtime.CompilerServices.ClassConstructorRunner" => "a static constructor ilc cannot run at build time",
                "System.Threading.Monitor" => "lock statements",
                _ => "a .NET feature that needs it",
            };
            return $"the guest runtime ({systemModule}) has no type {m.Groups[1].Value}: the guest uses {feature}, which a ParaVirt guest does not support";
        }
        m = MissingMethod().Match(log);
        if (m.Success)
            return $"the guest runtime has no method {m.Groups[2].Value}.{m.Groups[1].Value}; the guest uses a .NET feature that needs it, which a ParaVirt guest does not support";
        m = FailedLoad().Match(log);
        if (m.Success)
            return $"type {m.Groups[1].Value} could not be loaded: the guest references a library type the guest runtime does not provide";
        m = CodegenFailed().Match(log);
        if (m.Success)
            return $"code generation failed for {m.Groups[1].Value}";
        foreach (string line in log.Split('\n'))
        {
            if (line.StartsWith("Error:", StringComparison.Ordinal) || line.Contains("error", StringComparison.OrdinalIgnoreCase))
                return line.Trim();
        }
        return "ilc exited with an error and printed no message";
    }

    [GeneratedRegex(@"Expected type '([^']+)' not found in module")]
    private static partial Regex MissingType();

    [GeneratedRegex(@"Expected method '([^']+)' not found on type '(?:\[[^\]]*\])?([^']+)'")]
    private static partial Regex MissingMethod();

    [GeneratedRegex(@"Failed to load type '([^']+)'")]
    private static partial Regex FailedLoad();

    [GeneratedRegex(@"Code generation failed for method '([^']+)'")]
    private static partial Regex CodegenFailed();
}
