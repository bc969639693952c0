using System.Collections.Generic;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads.Tests;

public sealed class ConsoleWorkloadTests : KvmWorkloadFixture
{
    [Test]
    public void Full_mode_makes_exactly_two_port_exits_per_byte_and_every_byte_arrives()
    {
        WorkloadResult r = Run(WorkloadCatalog.Console, VirtualizationMode.Full);

        AssertVerified(r);
        Assert.That(r.Operations, Is.EqualTo(WorkloadCatalog.Console.QuickOperations));
        // The UART driver reads LSR (THRE is always set) and writes THR: two exits per byte, nothing else.
        Assert.That(r.Exits, Is.EqualTo(2 * r.Operations));
        Assert.That(r.ExitsByReason, Is.EquivalentTo(new Dictionary<string, long> { ["PortIo"] = 2 * r.Operations }));
        Assert.That(r.ConsoleBytes, Is.EqualTo(r.Operations));
    }

    [Test]
    public void Para_mode_rings_once_per_32_KiB_of_output()
    {
        const long bytes = 80 * 1024; // 20 buffers of 4 KiB: doorbells at buffers 9 and 17, then the flush
        WorkloadResult r = Run(WorkloadCatalog.Console, VirtualizationMode.Para, bytes);

        AssertVerified(r);
        Assert.That(r.Exits, Is.EqualTo(3));
        Assert.That(r.ExitsByReason, Is.EquivalentTo(new Dictionary<string, long> { ["Hypercall"] = 3 }));
        Assert.That(r.ConsoleBytes, Is.EqualTo(bytes));
    }

    [Test]
    public void Exit_counts_repeat_exactly([Values] VirtualizationMode mode)
    {
        WorkloadResult first = Run(WorkloadCatalog.Console, mode, 1000);
        WorkloadResult second = Run(WorkloadCatalog.Console, mode, 1000);

        AssertVerified(first);
        AssertVerified(second);
        Assert.That(second.ExitsByReason, Is.EquivalentTo(first.ExitsByReason));
        Assert.That(second.Exits, Is.EqualTo(first.Exits));
    }

    [Test]
    public void Para_console_is_at_least_20_times_faster_than_full()
    {
        WorkloadResult full = Run(WorkloadCatalog.Console, VirtualizationMode.Full);
        WorkloadResult para = Run(WorkloadCatalog.Console, VirtualizationMode.Para);

        AssertVerified(full);
        AssertVerified(para);
        Assert.That(full.NsPerOp / para.NsPerOp, Is.GreaterThanOrEqualTo(20));
    }
}
