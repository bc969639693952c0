using System;
using System.Collections.Generic;
using System.Linq;
using ParaVirt.Cli.Commands;

namespace ParaVirt.Cli;

/// <summary>Entry point of <c>paravirt</c>. Every failure becomes one line on stderr and a non-zero exit code.</summary>
public static class Program
{
    private const string Usage = """
        usage: paravirt <command> [options]

        commands:
          info                      is KVM usable here, and with which capabilities
          run <image.pvimg>         run a guest image on KVM
          compare                   run the workloads in full and in para mode and compare them

        'paravirt <command> --help' describes a command.
        """;

    private static readonly Dictionary<string, (string Help, Func<IReadOnlyList<string>, int> Run)> Commands = new(StringComparer.Ordinal)
    {
        ["info"] = (InfoCommand.Help, a => InfoCommand.Run(a, Console.Out)),
        ["run"] = (RunCommand.Help, RunCommand.Run),
        ["compare"] = (CompareCommand.Help, CompareCommand.Run),
    };

    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        try
        {
            return Dispatch(args);
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"paravirt: {ex.Message}");
            return ex.ExitCode;
        }
        catch (Exception ex) when (Environment.GetEnvironmentVariable("PARAVIRT_DEBUG") is null)
        {
            Console.Error.WriteLine($"paravirt: internal error: {ex.GetType().Name}: {ex.Message} (set PARAVIRT_DEBUG=1 for details)");
            return ExitCodes.Failure;
        }
    }

    internal static int Dispatch(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
            throw new CliException("missing a command (see 'paravirt --help')", ExitCodes.Usage);
        if (args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return 0;
        }
        string command = args[0];
        IReadOnlyList<string> rest = args.Skip(1).ToArray();
        if (!Commands.TryGetValue(command, out (string Help, Func<IReadOnlyList<string>, int> Run) entry))
            throw new CliException($"unknown command '{command}' (see 'paravirt --help')", ExitCodes.Usage);
        (string help, Func<IReadOnlyList<string>, int> run) = entry;
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            Console.WriteLine(help);
            return 0;
        }
        return run(rest);
    }
}
