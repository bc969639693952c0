using System;
using ParaVirt.Virtio;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// The loop every virtio device runs for one notification, with notification suppression and a
/// bounded amount of work (docs/writing-a-device.md):
/// <list type="number">
/// <item>suppress notifications (<see cref="SplitVirtqueue.DisableNotification"/>): the driver may
/// keep adding chains without an exit while the device is working;</item>
/// <item>pop and complete chains, charging each one's work (bytes moved) against the budget;</item>
/// <item>start a chain only while a whole one (<c>maxWorkPerChain</c>) still fits in the budget, and
/// not once the VM is asked to stop: otherwise leave the rest in the available ring and ask the
/// driver to notify again (<see cref="SplitVirtqueue.DeferRemaining"/>);</item>
/// <item>when the ring is empty, re-enable notifications (<see cref="SplitVirtqueue.EnableNotification"/>);
/// if chains arrived in between, go round again rather than lose them.</item>
/// </list>
/// So one notification does at most <c>workBudget</c> work whatever the guest's descriptors claim,
/// and no chain is left behind without a notification to come for it. A ring violation ends the
/// loop (<see cref="SplitVirtqueue.TryPop"/> returns false and <see cref="SplitVirtqueue.Error"/> is
/// set; <see cref="VirtioDevice.Notify"/> then marks the device DEVICE_NEEDS_RESET).
/// Allocation-free: a ref struct on the stack of <see cref="VirtioDevice"/>'s <c>ProcessQueue</c>.
/// </summary>
/// <example><code>
/// protected override int ProcessQueue(int index, SplitVirtqueue queue)
/// {
///     var drain = new QueueDrain(queue, workBudget: 1 &lt;&lt; 20, maxWorkPerChain: 64 * 1024, StopRequested);
///     while (drain.TryNext(out DescriptorChain chain))
///     {
///         uint written = Fill(chain, limit: 64 * 1024);   // at most maxWorkPerChain bytes
///         drain.Complete(chain, written, work: written);
///     }
///     return drain.Completed;
/// }
/// </code></example>
public ref struct QueueDrain
{
    private readonly SplitVirtqueue _queue;
    private readonly long _startLimit;
    private readonly Func<bool>? _stopRequested;
    private bool _suppressed;
    private bool _finished;

    /// <summary>Starts the loop for one notification of <paramref name="queue"/>.</summary>
    /// <param name="queue">The queue the device was notified for.</param>
    /// <param name="workBudget">The most work (bytes, or the device's own unit) one notification does.</param>
    /// <param name="maxWorkPerChain">The most work one chain does: a chain is started only while this much still fits.</param>
    /// <param name="stopRequested">The device's <see cref="VirtioDevice.StopRequested"/>: true stops between chains; null never.</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative budget, or a chain's work larger than the budget.</exception>
    public QueueDrain(SplitVirtqueue queue, long workBudget, long maxWorkPerChain, Func<bool>? stopRequested)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWorkPerChain);
        ArgumentOutOfRangeException.ThrowIfLessThan(workBudget, maxWorkPerChain);
        _queue = queue;
        _startLimit = workBudget - maxWorkPerChain;
        _stopRequested = stopRequested;
    }

    /// <summary>Chains completed so far (what <c>ProcessQueue</c> returns).</summary>
    public int Completed { get; private set; }

    /// <summary>Work charged so far.</summary>
    public long Work { get; private set; }

    /// <summary>Whether the loop ended with chains left for the next notification (budget spent, or the VM stopping).</summary>
    public bool Deferred { get; private set; }

    /// <summary>
    /// The next available chain, or false when the notification's work is done: the ring is empty
    /// (notifications re-enabled), the budget is spent or a stop was requested (the rest deferred),
    /// or the ring is broken.
    /// </summary>
    public bool TryNext(out DescriptorChain chain)
    {
        chain = default;
        while (!_finished)
        {
            if (!_suppressed)
            {
                _queue.DisableNotification();
                _suppressed = true;
            }
            // Invariant: a chain starts only while a whole chain's work still fits in the budget.
            if (Work > _startLimit || (_stopRequested is { } stop && stop()))
            {
                _queue.DeferRemaining();
                Deferred = true;
                _finished = true;
                return false;
            }
            if (_queue.TryPop(out chain))
                return true;
            // Empty (or broken): ask for notifications again; chains that arrived meanwhile are ours.
            _suppressed = false;
            if (!_queue.EnableNotification())
                _finished = true;
        }
        return false;
    }

    /// <summary>
    /// Puts <paramref name="chain"/> in the used ring with <paramref name="bytesWritten"/> (bytes the
    /// device wrote into its device-writable buffers) and charges <paramref name="work"/>.
    /// </summary>
    public void Complete(in DescriptorChain chain, uint bytesWritten, long work)
    {
        _queue.AddUsed(chain.Head, bytesWritten);
        Completed++;
        Work += Math.Max(0, work);
    }
}
