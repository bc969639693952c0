namespace ParaVirt.Cli.Tests;

/// <summary><c>--engine NAME</c> on info, run and compare: an unknown engine is one line, exit code 64, the engines listed.</summary>
public class EngineOptionTests
{
    [TestCase("info")]
    [TestCase("run", "x.pvimg")]
    [TestCase("compare")]
    public void AnUnknownEngineIsOneLineListingTheEngines(string command, params string[] rest) =>
        Paravirt.AssertError(Paravirt.Run([command, .. rest, "--engine", "xen"]), ExitCodes.Usage,
            $"paravirt: unknown engine 'xen' (engines: kvm) (see 'paravirt {command} --help')");
}
