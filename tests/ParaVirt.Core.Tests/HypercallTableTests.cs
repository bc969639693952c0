using ParaVirt.Abi;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;

namespace ParaVirt.Core.Tests;

public class HypercallTableTests
{
    private static readonly HypercallHandler Seven = (VirtualMachine _, in HypercallArgs _) => 7;

    [Test]
    public void DispatchCallsTheHandlerAndCountsIt()
    {
        var table = new HypercallTable();
        table.Register(64, "seven", Seven);
        Assert.That(table.Dispatch(null!, 64, default), Is.EqualTo(7));
        Assert.That(table.GetStatistics(64).Calls, Is.EqualTo(1));
        Assert.That(table.GetStatistics(64).Name, Is.EqualTo("seven"));
        Assert.That(table.GetStatistics().Select(s => s.Number), Is.EqualTo(new[] { 64u }));
    }

    [TestCase(99UL)]
    [TestCase(128UL)]
    [TestCase(ulong.MaxValue)]
    public void UnknownNumbersReturnTheErrorStatus(ulong number)
    {
        var table = new HypercallTable();
        Assert.That(table.Dispatch(null!, number, default), Is.EqualTo((long)HypercallStatus.UnknownHypercall));
        Assert.That(table.UnknownCalls, Is.EqualTo(1));
    }

    [Test]
    public void TheAllowListRefusesAndRestores()
    {
        var table = new HypercallTable();
        table.Register(64, "seven", Seven);
        table.Register(65, "other", Seven);
        table.AllowOnly([65]);
        Assert.That(table.Dispatch(null!, 64, default), Is.EqualTo((long)HypercallStatus.Denied));
        Assert.That(table.Dispatch(null!, 65, default), Is.EqualTo(7));
        Assert.That(table.DeniedCalls, Is.EqualTo(1));
        table.Allow(64);
        Assert.That(table.Dispatch(null!, 64, default), Is.EqualTo(7));
    }

    [Test]
    public void RegistrationRefusesDuplicatesAndOutOfRangeNumbers()
    {
        var table = new HypercallTable();
        table.Register(64, "seven", Seven);
        Assert.That(() => table.Register(64, "again", Seven), Throws.ArgumentException.With.Message.Contains("'seven'"));
        Assert.That(() => table.Register(128, "too far", Seven), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
