using System;
using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Core.Engine;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// The asynchronous transport of one virtqueue: a doorbell (on KVM an ioeventfd, so the guest's
/// one-byte <c>out</c> to its port never exits to userspace) and a device thread that waits on it,
/// processes the queue with the device's own code and budgets, publishes the used ring and raises
/// the queue's event channel when the driver's suppression fields ask for it (or when the device
/// set DEVICE_NEEDS_RESET). Created by <see cref="VirtioTransport.AddAsyncQueue"/>; the driver
/// switches the queue to it with <see cref="Hypercall.VirtioBindAsyncQueue"/>.
/// </summary>
/// <example>
/// <code>
/// Doorbell bell = vm.GetVmFeature&lt;IDoorbellProvider&gt;()!.CreatePortDoorbell(0x600); // port open in the I/O bitmap
/// VirtioAsyncQueue q = transport.AddAsyncQueue(device: 1, queue: 0, bell, channel: 1, cpu.Raise);
/// // guest: VirtioBindAsyncQueue(1, 0) → port 0x600, channel 1; out 0x600 rings; the event says "look at the used ring"
/// </code>
/// </example>
/// <remarks>
/// <para>Race rules (docs/virtio.md, "The asynchronous transport"):</para>
/// <list type="bullet">
/// <item>The thread touches the device only inside the device's <see cref="VirtioDevice.Gate"/>,
/// the lock every hypercall of the transport takes too: a reset, a status write or a synchronous
/// notify waits for the current turn, which the device's work budget bounds.</item>
/// <item>It dereferences guest memory only under a lease (<see cref="Core.Memory.GuestMemory.Lease"/>):
/// a VM being disposed closes its memory, refuses new leases and unmaps only after the current
/// turn has ended. A refused lease ends the thread.</item>
/// <item>A VM's stop request (watchdog, <c>Stop</c>) ends a turn between requests; the chains left
/// stay available. Disposing the VM disposes the doorbell: <see cref="Doorbell.Wait"/> returns 0 and
/// the thread ends. <see cref="Dispose"/> does the same and joins the thread (bounded).</item>
/// <item>No exception leaves the thread: a failure is counted in <see cref="Faults"/>, the device
/// is marked DEVICE_NEEDS_RESET, the event is raised so the driver looks, and the fault handler
/// (the VM's stop, for an attached transport) is told.</item>
/// </list>
/// </remarks>
public sealed class VirtioAsyncQueue : IDisposable
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(5);

    private readonly Doorbell _doorbell;
    private readonly Action<int> _raiseEvent;
    private readonly Action<Exception>? _onFault;
    private readonly Thread _thread;
    private int _started;
    private int _stopping;
    private long _wakeups;
    private long _turns;
    private long _eventsRaised;
    private long _faults;
    private long _allocatedBytes;

    /// <summary>Creates the queue's device thread (not started: see <see cref="Start"/>).</summary>
    /// <param name="device">The device.</param>
    /// <param name="queue">The queue index.</param>
    /// <param name="doorbell">The doorbell the thread waits on; disposed with this object.</param>
    /// <param name="channel">The event channel to raise (1 to 63: channel 0 is the timer).</param>
    /// <param name="raiseEvent">Raises an event channel from any thread and wakes or kicks the vCPU (para mode: <c>VirtualCpu.Raise</c>).</param>
    /// <param name="onFault">Told of an exception on the device thread (a host bug); may be null.</param>
    public VirtioAsyncQueue(VirtioDevice device, int queue, Doorbell doorbell, uint channel, Action<int> raiseEvent, Action<Exception>? onFault = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(doorbell);
        ArgumentNullException.ThrowIfNull(raiseEvent);
        ArgumentOutOfRangeException.ThrowIfNegative(queue);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(queue, Math.Min(device.QueueCount, 64));
        if (channel < (uint)EventChannel.FirstDevice || channel >= (uint)EventChannel.Limit)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, "a device event channel is 1 to 63");
        Device = device;
        Queue = queue;
        Channel = channel;
        _doorbell = doorbell;
        _raiseEvent = raiseEvent;
        _onFault = onFault;
        _thread = new Thread(Run) { IsBackground = true, Name = $"virtio {device.DeviceId} queue {queue}" };
    }

    /// <summary>The device served.</summary>
    public VirtioDevice Device { get; }

    /// <summary>The queue served.</summary>
    public int Queue { get; }

    /// <summary>The event channel raised on completions.</summary>
    public uint Channel { get; }

    /// <summary>The doorbell port.</summary>
    public ushort Port => _doorbell.Port;

    /// <summary>Times the thread woke from the doorbell with rings (coalesced rings count once).</summary>
    public long Wakeups => Volatile.Read(ref _wakeups);

    /// <summary>Turns on the queue (one per wake-up, more when the device stopped at its budget).</summary>
    public long Turns => Volatile.Read(ref _turns);

    /// <summary>Events raised: completions the driver asked to hear about, and DEVICE_NEEDS_RESET.</summary>
    public long EventsRaised => Volatile.Read(ref _eventsRaised);

    /// <summary>Exceptions caught on the device thread (host bugs; 0 in a healthy run).</summary>
    public long Faults => Volatile.Read(ref _faults);

    /// <summary>
    /// Bytes the device thread allocated on the GC heap while serving the queue
    /// (<see cref="GC.GetAllocatedBytesForCurrentThread"/> around each turn). Stays constant once the
    /// thread is warm: nothing is allocated per request.
    /// </summary>
    public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

    /// <summary>Whether the device thread is running.</summary>
    public bool IsRunning => _thread.IsAlive;

    /// <summary>Starts the device thread (once).</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
            _thread.Start();
    }

    /// <summary>
    /// Stops the device thread: disposes the doorbell (a waiting thread wakes with 0) and waits up
    /// to 5 s for the current turn to end. Returns whether the thread has ended.
    /// </summary>
    public bool Stop()
    {
        Volatile.Write(ref _stopping, 1);
        _doorbell.Dispose();
        if (Volatile.Read(ref _started) == 0 || Thread.CurrentThread == _thread)
            return true;
        return _thread.Join(JoinTimeout);
    }

    /// <inheritdoc cref="Stop"/>
    public void Dispose() => Stop();

    private void Run()
    {
        try
        {
            while (Volatile.Read(ref _stopping) == 0)
            {
                // 0: the doorbell was disposed (the VM or this object is going away).
                if (_doorbell.Wait() <= 0 || Volatile.Read(ref _stopping) != 0)
                    return;
                Interlocked.Increment(ref _wakeups);
                if (!ServeUntilIdle())
                    return;
            }
        }
        catch (Exception ex)
        {
            // Nothing may escape a thread: it would end the process.
            Fault(ex);
        }
    }

    /// <summary>Serves the queue until the device has nothing more to do now; false when the memory is closed.</summary>
    private bool ServeUntilIdle()
    {
        while (true)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            AsyncServeResult result;
            try
            {
                result = Device.ServeAsync(Queue);
            }
            catch (Exception ex)
            {
                Fault(ex);
                return true;
            }
            if ((result & AsyncServeResult.MemoryClosed) != 0)
            {
                Interlocked.Increment(ref _turns);
                return false;
            }
            // The device wrote the used ring (release store of used->idx) before this raise; the
            // vCPU moves the event into the shared-info page only at its next exit or wake, and
            // the driver reads used->idx after it sees the event: the completions are visible.
            if ((result & (AsyncServeResult.Notify | AsyncServeResult.NeedsReset)) != 0)
                Raise();
            Interlocked.Add(ref _allocatedBytes, GC.GetAllocatedBytesForCurrentThread() - before);
            // Last: a test that sees the turn counted sees its events and allocations counted too.
            Interlocked.Increment(ref _turns);
            if ((result & AsyncServeResult.MorePending) == 0 || Volatile.Read(ref _stopping) != 0)
                return true;
        }
    }

    private void Raise()
    {
        Interlocked.Increment(ref _eventsRaised);
        _raiseEvent((int)Channel);
    }

    private void Fault(Exception ex)
    {
        Interlocked.Increment(ref _faults);
        try
        {
            Device.MarkNeedsReset();
            Raise();
            _onFault?.Invoke(ex);
        }
        catch (Exception)
        {
            // The fault handler itself failed: the fault is counted, the device needs a reset.
        }
    }
}
