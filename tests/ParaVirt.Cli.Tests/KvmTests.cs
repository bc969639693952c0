using ParaVirt.Kvm;
using ParaVirt.Vmm;

namespace ParaVirt.Cli.Tests;

/// <summary>The cases that need a usable /dev/kvm: info and a real guest run.</summary>
public class KvmTests
{
    [SetUp]
    public void RequireKvm()
    {
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    [Test]
    public void InfoListsTheCapabilitiesAndExitsWithZero()
    {
        CliResult result = Paravirt.Run("info");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.Stderr, Is.Empty);
            Assert.That(result.Stdout, Does.Contain("KVM              usable (/dev/kvm)"));
            Assert.That(result.Stdout, Does.Match(@"\n  SyncRegs +yes \(\d+\) \(required\)\n"));
            Assert.That(result.Stdout, Does.Contain("ParaVirt ABI     0.2"));
        });
    }

    [Test]
    public void InfoListsTheProbedHostBehaviourAsTheEngineFoundIt()
    {
        ParaVirt.Core.Engine.PlatformBehaviour host = new KvmHypervisor().Behaviour;
        CliResult result = Paravirt.Run("info");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.Stdout, Does.Contain("host behaviour (probed with small guests):"));
            Assert.That(result.Stdout, Does.Match($@"\n  cpuid traps +{(host.CpuidTraps ? "yes" : "no")} "));
            Assert.That(result.Stdout, Does.Match($@"\n  cpu vendor +{host.CpuVendor} "));
            Assert.That(result.Stdout, Does.Match($@"\n  rep outsw +{host.RepOutswExitsPer256Words} exits / 256 words "));
            Assert.That(result.Stdout, Does.Contain($"reads '{host.NativeCpuidSignature}'"));
        });
    }

    [Test]
    public void RunHelloPrintsTheGreetingAndTheSummaryAndExitsWithZero()
    {
        CliResult result = Paravirt.Run("run", Paravirt.HelloImage);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.Stdout, Does.StartWith("Hello from a C# guest kernel\n"));
            Assert.That(result.Stdout, Does.Contain("crc32 = 0x5d1c4ee3 (ok)"));
            Assert.That(result.Stdout, Does.Not.Contain("-- "), "the summary goes to stderr only");
            Assert.That(result.Stderr, Does.Contain("-- GuestShutdown: guest shut down with exit code 0"));
            Assert.That(result.Stderr, Does.Contain("hypercall ConsoleWrite"));
            Assert.That(result.Stderr, Does.Not.Contain("paravirt: "), "no error line");
        });
    }

    [Test]
    public void QuietRunHasNoSummary()
    {
        CliResult result = Paravirt.Run("run", Paravirt.HelloImage, "--quiet");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.StartWith("Hello from a C# guest kernel\n"));
        Assert.That(result.Stderr, Is.Empty);
    }
}
