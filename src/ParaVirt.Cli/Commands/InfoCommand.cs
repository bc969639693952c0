using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ParaVirt.Abi;
using ParaVirt.Kvm;
using ParaVirt.Kvm.Interop;
using ParaVirt.Vmm;

namespace ParaVirt.Cli.Commands;

/// <summary><c>paravirt info</c>: whether KVM is usable and why not, its API version, and the capabilities ParaVirt uses.</summary>
internal static class InfoCommand
{
    public const string Help = """
        usage: paravirt info

        Reports whether KVM is usable here (and, if not, why: absent, no permission, too old),
        the KVM API version, the vCPU mmap size, the capabilities ParaVirt uses, and how this host
        behaves for what full mode relies on, probed with small guests: does cpuid trap once CPUID
        faulting is on, who answers an untrapped cpuid, how many exits string I/O takes.
        Exit code 0 when KVM is usable, 69 when it is not.
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        Arguments.Parse("info", args, valued: [], switches: []).Positional.ForEach(p => throw Arguments.Usage("info", $"unexpected argument '{p}'"));
        output.WriteLine($"ParaVirt ABI     {AbiVersion.Major}.{AbiVersion.Minor}");
        output.WriteLine($"machine          {Environment.MachineName}, {Environment.ProcessorCount} CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        KvmDevice kvm;
        try
        {
            kvm = KvmDevice.Open();
        }
        catch (KvmUnavailableException ex)
        {
            output.WriteLine($"KVM              not usable: {ex.Message}");
            // A failure is also one line on stderr, as for every other command.
            Console.Error.WriteLine($"paravirt: {ex.Message}");
            return ExitCodes.NoKvm;
        }
        output.WriteLine($"KVM              usable ({KvmDevice.Path})");
        output.WriteLine($"KVM API version  {kvm.ApiVersion}");
        output.WriteLine($"vCPU mmap size   {kvm.VcpuMmapSize} bytes");
        output.WriteLine("capabilities:");
        foreach (KvmCapability capability in KvmDevice.Reported)
        {
            int value = kvm.Check(capability);
            string required = KvmDevice.Required.Contains(capability) ? " (required)" : "";
            output.WriteLine($"  {capability,-18} {(value > 0 ? $"yes ({value})" : "no")}{required}");
        }
        output.WriteLine("host behaviour (probed with small guests):");
        try
        {
            foreach (var (name, value, meaning) in Engines.Create(Engines.Default).Behaviour.Describe())
                output.WriteLine($"  {name,-18} {value,-26} {meaning}");
        }
        catch (InvalidOperationException ex)
        {
            output.WriteLine($"  not probed: {ex.Message}");
        }
        return 0;
    }
}
