using System.Collections.Generic;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads.Tests;

public sealed class ConsoleWorkloadTests : KvmWorkloadFixture
{
    [Test]
    public void Full_mode_checks_the_line_status_once_per_16_bytes_and_every_byte_arrives()
    {
        WorkloadResult r = Run(WorkloadCatalog.Console, VirtualizationMode.Full);

        AssertVerified(r);
        Assert.That(r.Operations, Is.EqualTo(WorkloadCatalog.Console.QuickOperations));
        // The UART driver uses the 16-byte FIFO as Linux's 8250 driver does: one LSR read (THRE is
        // always set) per burst of up to 16 THR writes.
        long expected = r.Operations + (r.Operations + 15) / 16;
        Assert.That(r.Exits, Is.EqualTo(expected));
        Assert.That(r.ExitsByReason, Is.EquivalentTo(new Dictionary<string, long> { ["PortIo"] = expected }));
        Assert.That(r.ConsoleBytes, Is.EqualTo(r.Operations));
    }

    [Test]
    public void Full_mode_bursts_end_cleanly_at_a_count_that_is_not_a_multiple_of_16()
    {
        WorkloadResult r = Run(WorkloadCatalog.Console, VirtualizationMode.Full, 1000);

        AssertVerified(r);
        Assert.That(r.Exits, Is.EqualTo(1000 + 63), "62 full bursts and one of 8, each after one LSR read");
        Assert.That(r.ConsoleBytes, Is.EqualTo(1000));
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
}
