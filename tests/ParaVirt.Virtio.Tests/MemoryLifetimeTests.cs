using System.Threading;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;

namespace ParaVirt.Virtio.Tests;

/// <summary>
/// A device thread driving a virtqueue while its guest memory is disposed: the queue's cached ring
/// pointers are dereferenced only under a lease, so the thread sees <see cref="VirtqueueError.MemoryClosed"/>
/// instead of touching unmapped memory (which kills the process).
/// </summary>
public sealed class MemoryLifetimeTests
{
    private const uint QueueSize = 16;
    private const ulong Source = 0x100000, Target = 0x200000;
    private const uint Length = 0x80000; // 512 KiB per chain

    [Test]
    public void ADeviceThreadHammeringAQueueWhileTheMemoryIsDisposedStopsWithMemoryClosed()
    {
        var memory = GuestMemory.Create(4 << 20);
        var ring = new DriverRing(memory, QueueSize);
        var queue = new SplitVirtqueue(memory, 256);
        Assert.That(queue.Setup(ring.Desc, ring.Avail, ring.Used, QueueSize), Is.EqualTo(VirtqueueError.None));
        ring.SetDesc(0, Source, Length, VirtqDescFlags.Next, 1);
        ring.SetDesc(1, Target, Length, VirtqDescFlags.Write);

        long completed = 0;
        var device = new Thread(() =>
        {
            ushort availIdx = 0;
            while (true)
            {
                // The driver's side: re-publish chain 0 (fails quietly once the memory is closed).
                if (memory.TryWrite(ring.Avail + VirtqLayout.AvailEntryOffset((uint)(availIdx % QueueSize)), (ushort)0))
                    memory.TryWrite(ring.Avail + 2, ++availIdx);
                // The device's side: pop, copy under a lease, complete.
                if (!queue.TryPop(out DescriptorChain chain))
                    return;
                using (GuestMemoryLease lease = memory.Lease())
                {
                    if (lease.IsHeld && chain.TryGetSpan(chain.Buffers[0], out var from) && chain.TryGetSpan(chain.Buffers[1], out var to))
                        from.CopyTo(to);
                }
                queue.AddUsed(chain.Head, Length);
                Interlocked.Increment(ref completed);
            }
        }) { IsBackground = true };
        device.Start();
        SpinWait.SpinUntil(() => Interlocked.Read(ref completed) >= 20);

        memory.Dispose();

        Assert.That(device.Join(TimeSpan.FromSeconds(10)), Is.True, "the device thread left its loop");
        Assert.That(queue.Error, Is.EqualTo(VirtqueueError.MemoryClosed));
        Assert.That(memory.IsUnmapped, Is.True);
    }

    [Test]
    public void EveryRingOperationOnClosedMemoryTouchesNothingAndReportsMemoryClosed()
    {
        var memory = GuestMemory.Create(1 << 20);
        var ring = new DriverRing(memory, QueueSize);
        var queue = new SplitVirtqueue(memory, 256) { EventIdx = true };
        Assert.That(queue.Setup(ring.Desc, ring.Avail, ring.Used, QueueSize), Is.EqualTo(VirtqueueError.None));
        ring.SetDesc(0, 0x10000, 16);
        ring.Publish(0);
        Assert.That(queue.TryPop(out DescriptorChain chain), Is.True);
        memory.Dispose();

        queue.AddUsed(chain.Head, 0); // the chain taken before the close: nothing is written
        Assert.That(queue.Error, Is.EqualTo(VirtqueueError.MemoryClosed));
        Assert.That(queue.NextUsed, Is.Zero);
        Assert.That(queue.TryPop(out _), Is.False);
        Assert.That(queue.EnableNotification(), Is.False);
        Assert.That(queue.DeferRemaining(), Is.False);
        queue.DisableNotification();
        Assert.That(queue.Setup(ring.Desc, ring.Avail, ring.Used, QueueSize), Is.EqualTo(VirtqueueError.MemoryClosed));
    }
}
