using ParaVirt.Core.Machine;

namespace ParaVirt.Core.Tests;

public class ExitStatisticsTests
{
    [Test]
    public void EveryTrapInstructionHasItsOwnName()
    {
        TrapInstruction[] all = Enum.GetValues<TrapInstruction>();
        Assert.That(TrapInstructionNames.Count, Is.EqualTo(all.Length));
        Assert.That(all.Select(TrapInstructionNames.Name).Distinct().Count(), Is.EqualTo(all.Length));
        Assert.That(TrapInstructionNames.Name(TrapInstruction.MovToCr), Is.EqualTo("mov to cr"));
        Assert.That(TrapInstructionNames.Name(TrapInstruction.Outs), Is.EqualTo("outs"));
        Assert.That(() => TrapInstructionNames.Name((TrapInstruction)all.Length), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void InstructionsAreCountedByEnumAndListedByNameInEnumOrder()
    {
        var stats = new ExitStatistics();
        stats.CountInstruction(TrapInstruction.Out);
        stats.CountInstruction(TrapInstruction.Cli);
        stats.CountInstruction(TrapInstruction.Out);
        Assert.That(stats.TrapsByInstruction(TrapInstruction.Out), Is.EqualTo(2));
        Assert.That(stats.TrapsByInstruction(TrapInstruction.Cli), Is.EqualTo(1));
        Assert.That(stats.TrapsByInstruction(TrapInstruction.Sti), Is.Zero);
        Assert.That(stats.ByInstruction(), Is.EqualTo(new[] { new KeyValuePair<string, long>("cli", 1), new KeyValuePair<string, long>("out", 2) }));
        stats.Reset();
        Assert.That(stats.ByInstruction(), Is.Empty);
    }

    [Test]
    public void CountingAnInstructionAllocatesNothing()
    {
        var stats = new ExitStatistics();
        stats.CountInstruction(TrapInstruction.Hlt); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
            stats.CountInstruction((TrapInstruction)(i % TrapInstructionNames.Count));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
