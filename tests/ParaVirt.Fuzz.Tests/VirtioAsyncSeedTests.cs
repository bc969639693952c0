using System.IO;
using ParaVirt.Fuzz.Targets;

namespace ParaVirt.Fuzz.Tests;

/// <summary>
/// The virtio-async target reaches the asynchronous transport: its seeds bind queues with hypercall 25
/// and ring their doorbells, and the device threads complete the chains under the same oracle.
/// </summary>
[NonParallelizable]
public sealed class VirtioAsyncSeedTests
{
    private static byte[] Seed(string name) => File.ReadAllBytes(Path.Combine(FuzzFiles.Root, "corpus", "virtio-async", name));

    [TestCase("async-blk-write-read", 2)]   // a write then a read, each through the doorbell
    [TestCase("async-console-tx-rx", 2)]    // a transmit chain and a receive buffer filled with pending input
    public void A_seed_has_its_chains_completed_by_the_device_thread(string seed, long chains)
    {
        using var target = new VirtioTarget(asyncTransport: true);
        target.Run(Seed(seed));
        Assert.That(target.LastRunDeviceThreads.Turns, Is.GreaterThanOrEqualTo(chains));
        Assert.That(target.LastRunDeviceThreads.Completed, Is.EqualTo(chains));
    }

    [Test]
    public void A_hostile_ring_on_the_device_thread_and_refused_binds_hold_the_oracle()
    {
        using var target = new VirtioTarget(asyncTransport: true);
        target.Run(Seed("async-hostile-ring-and-binds"));
        Assert.That(target.LastRunDeviceThreads.Turns, Is.GreaterThanOrEqualTo(2));
        Assert.That(target.LastRunDeviceThreads.Completed, Is.EqualTo(1), "the write before the corruption; the broken ring and the unbound queue complete nothing");
    }

    [Test]
    public void Without_the_doorbell_ops_no_device_thread_is_started()
    {
        using var target = new VirtioTarget(asyncTransport: true);
        target.Run(Seed("blk-write-read"));
        Assert.That(target.LastRunDeviceThreads, Is.EqualTo((0L, 0L)));
    }
}
