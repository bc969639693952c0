using ParaVirt.Kvm;

namespace ParaVirt.Vmm.Tests;

/// <summary>The engine registry: one name per engine, the only place a name maps to an engine.</summary>
public class EnginesTests
{
    [Test]
    public void KvmIsRegisteredAndIsTheDefault()
    {
        Assert.That(Engines.Names, Is.EqualTo(new[] { KvmHypervisor.EngineName }));
        Assert.That(Engines.Default, Is.EqualTo("kvm"));
        Assert.That(Engines.Create(), Is.InstanceOf<KvmHypervisor>());
        Assert.That(Engines.Create("kvm").Name, Is.EqualTo("kvm"));
    }

    [Test]
    public void AnUnknownEngineIsRefusedWithTheKnownNames()
    {
        Assert.That(() => Engines.Create("hyperv"), Throws.ArgumentException.With.Message.Contains("no engine is named 'hyperv'").And.Message.Contains("kvm"));
        Assert.That(() => Engines.IsAvailable("hyperv", out _), Throws.ArgumentException);
        Assert.That(() => MachineBuilder.Create("hyperv"), Throws.ArgumentException);
    }
}
