using Internal.Runtime;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Guest.Drivers;

namespace ParaVirt.Guest.Virtio;

/// <summary>
/// The driver side of one queue on the asynchronous transport, shared by the virtio drivers
/// (<see cref="VirtioBlkDriver"/>, <see cref="VirtioConsoleDriver"/>): the doorbell rung only when
/// the device asked for it (<c>avail_event</c>, spec 2.7.10), and the wait for completions, by
/// polling the used ring with events suppressed (<see cref="VirtioTransportMode.AsyncPoll"/>) or in
/// <c>SchedOp(block)</c> until the queue's event channel (<see cref="VirtioTransportMode.AsyncBlock"/>).
/// Either wait reads the device status when an event comes with the completions still missing: a
/// device that set DEVICE_NEEDS_RESET on its thread raises the event for that.
/// </summary>
/// <example><code>
/// // after Negotiate (with EVENT_IDX) and SetupQueue, before Start:
/// if (VirtioAsyncQueueDriver.Bind(device, 0, queue, VirtioTransportMode.AsyncPoll, out VirtioAsyncQueueDriver async) &lt; 0) return -1;
/// queue.Add(chain, 3);
/// async.Kick();              // publish; an out to the doorbell port if the device asked: no exit
/// async.WaitForUsed(1);      // poll the used ring
/// queue.TryTakeUsed(out uint head, out uint _);
/// </code></example>
public sealed unsafe class VirtioAsyncQueueDriver
{
    private readonly VirtioDeviceDriver _device;
    private readonly Virtqueue _queue;
    private readonly bool _eventIdx;

    private VirtioAsyncQueueDriver(VirtioDeviceDriver device, Virtqueue queue, VirtioDoorbell doorbell, VirtioTransportMode mode)
    {
        _device = device;
        _queue = queue;
        Doorbell = doorbell;
        Mode = mode;
        _eventIdx = device.Has(VirtioFeatures.EventIdx);
    }

    /// <summary>
    /// Binds queue <paramref name="queueIndex"/> (already set up with <paramref name="queue"/>) to the
    /// asynchronous transport in <paramref name="mode"/> (<see cref="VirtioTransportMode.AsyncPoll"/>
    /// or <see cref="VirtioTransportMode.AsyncBlock"/>). Call after <see cref="VirtioDeviceDriver.Negotiate"/>
    /// and before <see cref="VirtioDeviceDriver.Start"/>. Returns 0, <see cref="DriverStatus.BadArgument"/>
    /// for <see cref="VirtioTransportMode.Hypercall"/>, or <see cref="DriverStatus.Unsupported"/> when
    /// the host has no asynchronous transport for the queue.
    /// </summary>
    public static int Bind(VirtioDeviceDriver device, uint queueIndex, Virtqueue queue, VirtioTransportMode mode, out VirtioAsyncQueueDriver driver)
    {
        driver = null;
        if (device is null || queue is null || (mode != VirtioTransportMode.AsyncPoll && mode != VirtioTransportMode.AsyncBlock))
            return DriverStatus.BadArgument;
        int s = device.BindAsync(queueIndex, out VirtioDoorbell doorbell);
        if (s < 0)
            return s;
        driver = new VirtioAsyncQueueDriver(device, queue, doorbell, mode);
        return DriverStatus.Ok;
    }

    /// <summary>The queue's doorbell (rings counted) and event channel.</summary>
    public VirtioDoorbell Doorbell { get; }

    /// <summary>How the driver waits.</summary>
    public VirtioTransportMode Mode { get; }

    /// <summary>Times <see cref="WaitForUsed"/> blocked in <c>SchedOp(block)</c>.</summary>
    public long Blocks { get; private set; }

    /// <summary>
    /// Publishes every chain added since the last publish and rings the doorbell only if the device
    /// asked for it (a device thread still working on the queue sees the new chains when it re-reads
    /// <c>avail-&gt;idx</c> after re-enabling notifications). No exit. When polling, it first
    /// suppresses completion events. Returns the number of chains published.
    /// </summary>
    public int Kick()
    {
        if (Mode == VirtioTransportMode.AsyncPoll)
        {
            // No completion events while polling: used_event half the index space ahead cannot be
            // crossed while fewer than 0x8000 chains are in flight (a queue holds at most 32768).
            if (_eventIdx)
                _queue.SetUsedEvent((ushort)(_queue.LastUsed + 0x8000));
            else
                _queue.SetNoInterrupt(true);
        }
        int published = _queue.Publish();
        if (published > 0 && _queue.DeviceWantsNotification(published, _eventIdx))
            Doorbell.Ring();
        return published;
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> completions are in the used ring (the caller
    /// passes at most the chains in flight). <see cref="VirtioTransportMode.AsyncBlock"/> sets
    /// <c>used_event</c> to the <paramref name="count"/>-th pending completion and blocks in
    /// <c>SchedOp(block)</c> until the queue's event. An event with the completions still missing
    /// makes it read the device status. Returns 0, <see cref="DriverStatus.NeedsReset"/>, or another
    /// negative status.
    /// </summary>
    public int WaitForUsed(int count)
    {
        if (count <= 0)
            return DriverStatus.Ok;
        uint channel = Doorbell.Channel;
        while (_queue.PendingUsed < count)
        {
            if (Mode == VirtioTransportMode.AsyncBlock)
            {
                // Ask for the event when used->idx passes the count-th pending request, then look
                // again: the device may have passed it before it could see used_event (store then
                // load: a full barrier between them).
                _queue.SetUsedEvent((ushort)(_queue.LastUsed + count - 1));
                VirtioBarrier.Full();
                if (_queue.PendingUsed >= count)
                    break;
                Blocks++;
                RawHypercall.Call(Hypercall.SchedOp, (ulong)SchedOp.Block, 0);
            }
            if (Events.TakeChannel(channel) && _queue.PendingUsed < count)
            {
                long status = _device.ReadStatus();
                if (status < 0)
                    return (int)status;
                if ((status & VirtioDeviceStatus.DeviceNeedsReset) != 0)
                    return DriverStatus.NeedsReset;
            }
        }
        return DriverStatus.Ok;
    }
}
