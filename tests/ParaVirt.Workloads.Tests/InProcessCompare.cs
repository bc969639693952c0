using System.IO;
using ParaVirt.Cli;

namespace ParaVirt.Workloads.Tests;

/// <summary>
/// Runs <c>paravirt compare</c> in this process (the CLI's <see cref="Program.Main"/>) with stdout
/// and stderr captured. The console is process-wide: the fixtures that use it are non-parallelizable.
/// </summary>
internal static class InProcessCompare
{
    public static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = Program.Main(["compare", .. args]);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
