using System;
using System.Collections.Generic;
using System.IO;
using ParaVirt.Abi;
using ParaVirt.Core.Engine;
using ParaVirt.Vmm;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// <c>paravirt info</c>: whether an engine is usable here and why not, what the engine reports about
/// itself (<see cref="IHypervisor.DescribeHost"/>), and the host behaviour its probe found. Nothing
/// in here is specific to one engine.
/// </summary>
internal static class InfoCommand
{
    public static readonly string Help = $"""
        usage: paravirt info [--engine NAME]

        Reports whether the engine is usable here (and, if not, why: absent, no permission, too
        old), what the engine reports about itself (for kvm: the device, the KVM API version, the
        vCPU mmap size and the capabilities ParaVirt uses), and how this host behaves for what full
        mode relies on, probed with small guests: does cpuid trap once CPUID faulting is on, who
        answers an untrapped cpuid, how many exits string I/O takes.

          --engine NAME   the engine to describe (default {Engines.Default}; engines: {string.Join(", ", Engines.Names)})

        Exit code: 0 when the engine is usable, {ExitCodes.NoKvm} when it is not, {ExitCodes.Usage} for a bad command line.
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        Arguments parsed = Arguments.Parse("info", args, valued: [EngineOption.Flag], switches: []);
        parsed.Positional.ForEach(p => throw Arguments.Usage("info", $"unexpected argument '{p}'"));
        string engineName = EngineOption.Resolve(parsed, "info");
        output.WriteLine($"ParaVirt ABI     {AbiVersion.Major}.{AbiVersion.Minor}");
        output.WriteLine($"machine          {Environment.MachineName}, {Environment.ProcessorCount} CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        output.WriteLine($"engine           {engineName}{(engineName == Engines.Default ? " (the default)" : "")}; engines: {string.Join(", ", Engines.Names)}");
        if (!Engines.IsAvailable(engineName, out string reason))
        {
            output.WriteLine($"usable           no: {reason}");
            // A failure is also one line on stderr, as for every other command.
            Console.Error.WriteLine($"paravirt: {reason}");
            return ExitCodes.NoKvm;
        }
        output.WriteLine("usable           yes");
        IHypervisor engine = Engines.Create(engineName);
        foreach (EngineFact fact in engine.DescribeHost())
            output.WriteLine($"  {fact.Name,-24} {fact.Value}");
        output.WriteLine("host behaviour (probed with small guests):");
        try
        {
            foreach (var (name, value, meaning) in engine.Behaviour.Describe())
                output.WriteLine($"  {name,-18} {value,-26} {meaning}");
        }
        catch (InvalidOperationException ex)
        {
            output.WriteLine($"  not probed: {ex.Message}");
        }
        return 0;
    }
}
