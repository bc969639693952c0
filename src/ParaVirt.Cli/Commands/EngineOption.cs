using ParaVirt.Vmm;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// <c>--engine NAME</c>, shared by <c>info</c>, <c>run</c> and <c>compare</c>: the engine's name
/// (<see cref="Engines.Default"/> when absent), checked against <see cref="Engines.Names"/>, and
/// whether that engine can run guests here.
/// </summary>
internal static class EngineOption
{
    public const string Flag = "--engine";

    /// <summary>The named engine, or a one-line usage error listing the engines.</summary>
    public static string Resolve(Arguments parsed, string command)
    {
        string name = parsed.Value(Flag) ?? Engines.Default;
        if (!Engines.IsKnown(name))
            throw Arguments.Usage(command, $"unknown engine '{name}' (engines: {string.Join(", ", Engines.Names)})");
        return name;
    }

    /// <summary>Throws a one-line <see cref="ExitCodes.NoKvm"/> error when <paramref name="engine"/> cannot run guests here.</summary>
    public static void RequireAvailable(string engine)
    {
        if (!Engines.IsAvailable(engine, out string reason))
            throw new CliException(reason, ExitCodes.NoKvm);
    }
}
