using System.Threading.Tasks;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads.Tests;

/// <summary>
/// A guest that corrupts its own virtqueue gets the defined outcome (VirtioNotify returns
/// NotPermitted, DEVICE_NEEDS_RESET is set, further notifies are refused, a reset recovers), the
/// host stays up, and another VM running a workload at the same time is untouched.
/// </summary>
public sealed class HostileGuestTests : KvmWorkloadFixture
{
    [TestCase("hostile-desc-loop")]
    [TestCase("hostile-avail-ahead")]
    public void A_corrupted_virtqueue_needs_a_reset_and_a_concurrent_workload_completes_untouched(string name)
    {
        WorkloadDefinition hostile = name == WorkloadCatalog.HostileDescriptorLoop.Name ? WorkloadCatalog.HostileDescriptorLoop : WorkloadCatalog.HostileAvailAhead;
        Task<WorkloadResult> healthy = Task.Run(() => Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Para, 512));
        Task<WorkloadResult> attacker = Task.Run(() => Run(hostile, VirtualizationMode.Para));
        Task.WaitAll(healthy, attacker);

        WorkloadResult bad = attacker.Result;
        Assert.That(bad.Stop?.Kind, Is.EqualTo(VmStopKind.GuestShutdown));
        Assert.That(bad.ExitCode, Is.Zero, () => bad.ConsoleTail);
        Assert.That(bad.ConsoleTail, Does.Contain("hostile: notify -7, status 0x4f, notify again -7"));
        Assert.That(bad.ConsoleTail, Does.Contain("works again after it"));

        WorkloadResult good = healthy.Result;
        AssertVerified(good);
        Assert.That(good.Exits, Is.EqualTo(512 / 32));
    }

    [Test]
    public void The_hostile_workloads_refuse_to_run_in_full_mode()
    {
        WorkloadResult r = Run(WorkloadCatalog.HostileDescriptorLoop, VirtualizationMode.Full);
        Assert.That(r.Verified, Is.False);
        Assert.That(r.ExitCode, Is.EqualTo(WorkloadProtocol.ExitNotInThisMode));
    }
}
