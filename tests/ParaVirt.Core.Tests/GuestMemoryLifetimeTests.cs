using System;
using System.Threading;
using ParaVirt.Core.Memory;

namespace ParaVirt.Core.Tests;

/// <summary>
/// Guest memory is never unmapped under a thread that uses it: device threads hold a lease while
/// they touch memory, and Dispose waits for the leases (bounded) or leaves the unmap to the last one.
/// </summary>
public class GuestMemoryLifetimeTests
{
    private const int Chunk = 1 << 20;

    [Test]
    public void AThreadCopyingInALoopWhileTheMemoryIsDisposedSeesTheMemoryGoneAndTheProcessSurvives()
    {
        var memory = GuestMemory.Create(4 << 20);
        long copies = 0;
        string outcome = "still running";
        var device = new Thread(() =>
        {
            var scratch = new byte[Chunk];
            while (true)
            {
                using GuestMemoryLease lease = memory.Lease();
                if (!lease.IsHeld)
                {
                    outcome = "memory gone";
                    return;
                }
                // Spans over guest memory, dereferenced only under the lease.
                if (!memory.TryGetSpan(0, Chunk, out Span<byte> source) || !memory.TryGetSpan(2 * Chunk, Chunk, out Span<byte> target))
                {
                    outcome = "span refused under a lease";
                    return;
                }
                source.CopyTo(scratch);
                scratch.CopyTo(target);
                Interlocked.Increment(ref copies);
            }
        }) { IsBackground = true };
        device.Start();
        SpinWait.SpinUntil(() => Interlocked.Read(ref copies) >= 20);

        memory.Dispose();

        Assert.That(device.Join(TimeSpan.FromSeconds(10)), Is.True, "the device thread left its loop");
        Assert.That(outcome, Is.EqualTo("memory gone"));
        Assert.That(memory.IsUnmapped, Is.True);
    }

    [Test]
    public void TheCopyMethodsFailOnceTheMemoryIsClosedWhileAnotherThreadHammersThem()
    {
        var memory = GuestMemory.Create(4 << 20);
        long copies = 0;
        bool sawFailure = false;
        var device = new Thread(() =>
        {
            var scratch = new byte[Chunk];
            while (memory.TryRead(0, scratch) && memory.TryWrite(2 * Chunk, scratch) && memory.TryFill(Chunk, Chunk, 0x5A))
                Interlocked.Increment(ref copies);
            sawFailure = true;
        }) { IsBackground = true };
        device.Start();
        SpinWait.SpinUntil(() => Interlocked.Read(ref copies) >= 20);

        memory.Dispose();

        Assert.That(device.Join(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(sawFailure, Is.True, "a copy after the close returns false");
        Assert.That(memory.IsUnmapped, Is.True);
    }

    [Test]
    public void AHeldLeaseKeepsTheMappingAndTheLastReleaseUnmaps()
    {
        var memory = GuestMemory.Create(1 << 20);
        Assert.That(memory.TryAcquire(), Is.True);
        Assert.That(memory.TryGetSpan(0x1000, 8, out Span<byte> span), Is.True);

        Assert.That(memory.Close(TimeSpan.FromMilliseconds(20)), Is.False, "the wait timed out: the unmap is deferred");
        Assert.That(memory.IsUnmapped, Is.False);
        span.Fill(0xA5); // would fault if the mapping were gone
        Assert.That(span[7], Is.EqualTo(0xA5));
        Assert.That(memory.TryAcquire(), Is.False, "no new lease once closed");
        Assert.That(memory.TryRead(0x1000, out ulong _), Is.False, "no access once closed");

        memory.Release();
        Assert.That(memory.IsUnmapped, Is.True, "the last lease unmapped it");
    }

    [Test]
    public void DisposeWithoutLeasesUnmapsAtOnceAndViewsShareTheOwnersLeases()
    {
        var memory = GuestMemory.Create(1 << 20);
        GuestMemory view = memory.Restrict([(0x10000UL, 0x1000UL)]);
        using (GuestMemoryLease lease = view.Lease())
        {
            Assert.That(lease.IsHeld, Is.True);
            Assert.That(memory.Close(TimeSpan.FromMilliseconds(20)), Is.False, "a view's lease holds the owner's mapping");
            Assert.That(view.Lease().IsHeld, Is.False, "the view is closed with its owner");
        }
        Assert.That(memory.IsUnmapped, Is.True);
        Assert.That(view.IsUnmapped, Is.True);

        var other = GuestMemory.Create(1 << 20);
        other.Dispose();
        Assert.That(other.IsUnmapped, Is.True);
        Assert.That(other.Lease().IsHeld, Is.False);
    }
}
