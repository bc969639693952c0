using System;
using System.Collections.Generic;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// The virtio hypercall transport of one VM: its list of virtio devices and the handlers of
/// hypercalls 16 to 25 (<see cref="Hypercall.VirtioDeviceCount"/> to <see cref="Hypercall.VirtioBindAsyncQueue"/>),
/// which stand in for the register block of virtio-pci or virtio-mmio. A queue may also be served
/// asynchronously, by a doorbell and a device thread (<see cref="AddAsyncQueue"/>), when the driver
/// binds it. See docs/virtio.md.
/// </summary>
/// <example>
/// <code>
/// var transport = VirtioTransport.Attach(vm);                    // registers hypercalls 16-24
/// transport.Add(new VirtioConsole(vm.WritableMemory, vm.Console));       // device 0
/// transport.Add(new VirtioBlock(vm.WritableMemory, DiskImage.Open("disk.img")));  // device 1
/// // in tests, without a VM:
/// long count = transport.Dispatch(Hypercall.VirtioDeviceCount, default);
/// </code>
/// </example>
public sealed class VirtioTransport : IDisposable
{
    /// <summary>The first hypercall number of the transport.</summary>
    public const uint FirstHypercall = (uint)Hypercall.VirtioDeviceCount;

    /// <summary>The last hypercall number of the transport in use (26 to 31 are reserved).</summary>
    public const uint LastHypercall = (uint)Hypercall.VirtioBindAsyncQueue;

    /// <summary>The first doorbell port <see cref="AttachAsyncQueue"/> suggests: queue k of a machine uses port <c>DoorbellPortBase + k</c>.</summary>
    public const ushort DoorbellPortBase = 0x0600;

    private readonly List<VirtioDevice> _devices = new();
    private readonly List<VirtioAsyncQueue> _asyncQueues = new();
    private Func<bool>? _stopRequested;

    /// <summary>Creates a transport for devices in <paramref name="memory"/>.</summary>
    public VirtioTransport(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Memory = memory;
    }

    /// <summary>
    /// Creates a transport over <paramref name="vm"/>'s <see cref="VirtualMachine.WritableMemory"/>
    /// (guest RAM and the shared-info page) and registers its hypercalls in the VM's table. Devices
    /// added to it take the same view: the device writes used rings, device-writable buffers,
    /// device info and configuration there, so a ring or buffer on the read-only hypercall or
    /// start-info page is refused like one outside RAM.
    /// </summary>
    public static VirtioTransport Attach(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var transport = new VirtioTransport(vm.WritableMemory) { _stopRequested = () => vm.IsStopping };
        transport.Register(vm.Hypercalls);
        return transport;
    }

    /// <summary>The guest memory device-info structures are written to.</summary>
    public GuestMemory Memory { get; }

    /// <summary>The devices, by transport index.</summary>
    public IReadOnlyList<VirtioDevice> Devices => _devices;

    /// <summary>
    /// Adds <paramref name="device"/> and returns its index (the <c>dev</c> argument of the hypercalls).
    /// On an attached transport, a device without a <see cref="VirtioDevice.StopRequested"/> gets the VM's.
    /// </summary>
    public int Add(VirtioDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (!ReferenceEquals(device.Memory, Memory))
            throw new ArgumentException("the device uses another guest memory than the transport", nameof(device));
        device.StopRequested ??= _stopRequested;
        _devices.Add(device);
        return _devices.Count - 1;
    }

    /// <summary>
    /// Registers hypercalls 16 to 24 in <paramref name="table"/>, each with its own handler: a guest's
    /// call is dispatched once, by the table's array index, straight to the device operation.
    /// </summary>
    public void Register(HypercallTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.Register(Hypercall.VirtioDeviceCount, (VirtualMachine _, in HypercallArgs a) => _devices.Count);
        table.Register(Hypercall.VirtioDeviceInfo, (VirtualMachine _, in HypercallArgs a) => DeviceInfo(a));
        table.Register(Hypercall.VirtioGetFeatures, (VirtualMachine _, in HypercallArgs a) => GetFeatures(a));
        table.Register(Hypercall.VirtioSetFeatures, (VirtualMachine _, in HypercallArgs a) => SetFeatures(a));
        table.Register(Hypercall.VirtioGetStatus, (VirtualMachine _, in HypercallArgs a) => GetStatus(a));
        table.Register(Hypercall.VirtioSetStatus, (VirtualMachine _, in HypercallArgs a) => SetStatus(a));
        table.Register(Hypercall.VirtioSetupQueue, (VirtualMachine _, in HypercallArgs a) => SetupQueue(a));
        table.Register(Hypercall.VirtioNotify, (VirtualMachine _, in HypercallArgs a) => Notify(a));
        table.Register(Hypercall.VirtioReadConfig, (VirtualMachine _, in HypercallArgs a) => ReadConfig(a));
        table.Register(Hypercall.VirtioBindAsyncQueue, (VirtualMachine _, in HypercallArgs a) => BindAsync(a));
    }

    /// <summary>The device threads of the asynchronous queues, in the order they were added.</summary>
    public IReadOnlyList<VirtioAsyncQueue> AsyncQueues => _asyncQueues;

    /// <summary>
    /// Serves queue <paramref name="queue"/> of device <paramref name="device"/> asynchronously once
    /// the driver binds it (<see cref="Hypercall.VirtioBindAsyncQueue"/>): starts a device thread
    /// waiting on <paramref name="doorbell"/> that raises <paramref name="channel"/> through
    /// <paramref name="raiseEvent"/>. Until the driver binds the queue, or after a reset, the queue
    /// stays on the synchronous transport and the thread ignores the doorbell.
    /// </summary>
    public VirtioAsyncQueue AddAsyncQueue(int device, int queue, Doorbell doorbell, uint channel, Action<int> raiseEvent, Action<Exception>? onFault = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(device);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(device, _devices.Count);
        foreach (VirtioAsyncQueue existing in _asyncQueues)
        {
            if (existing.Device == _devices[device] && existing.Queue == queue)
                throw new InvalidOperationException($"queue {queue} of device {device} already has a device thread");
            if (existing.Channel == channel)
                throw new InvalidOperationException($"event channel {channel} is taken");
        }
        var async = new VirtioAsyncQueue(_devices[device], queue, doorbell, channel, raiseEvent, onFault);
        _asyncQueues.Add(async);
        _devices[device].OfferAsync(queue);
        async.Start();
        return async;
    }

    /// <summary>
    /// <see cref="AddAsyncQueue"/> for a VM: takes the doorbell on <paramref name="port"/> from the
    /// engine's <see cref="IDoorbellProvider"/> (the port must be open in the VM's I/O bitmap,
    /// <see cref="VmOptions.OpenPorts"/>), declares an event source with <paramref name="registerEventSource"/>
    /// (a vCPU blocked in SchedOp(block) waits for it), sets <see cref="HypercallFeatures.VirtioAsync"/>
    /// and stops the VM with a host error if the device thread ever fails.
    /// </summary>
    /// <exception cref="NotSupportedException">The engine has no doorbells (ioeventfd).</exception>
    public VirtioAsyncQueue AttachAsyncQueue(VirtualMachine vm, int device, int queue, ushort port, uint channel, Action<int> raiseEvent, Action registerEventSource)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(registerEventSource);
        IDoorbellProvider provider = vm.GetVmFeature<IDoorbellProvider>()
            ?? throw new NotSupportedException($"the {vm.EngineName} engine has no doorbells: the asynchronous virtio transport needs them");
        Doorbell doorbell = provider.CreatePortDoorbell(port);
        try
        {
            VirtioAsyncQueue async = AddAsyncQueue(device, queue, doorbell, channel, raiseEvent,
                ex => vm.Stop(new VmStopReason(VmStopKind.HostError, -1, $"virtio device thread (device {device}, queue {queue}) failed: {ex.GetType().Name}: {ex.Message}")));
            registerEventSource();
            vm.Features |= HypercallFeatures.VirtioAsync;
            return async;
        }
        catch
        {
            doorbell.Dispose();
            throw;
        }
    }

    /// <summary>Stops every device thread (each waits at most 5 s for its current turn). The devices stay.</summary>
    public void Dispose()
    {
        foreach (VirtioAsyncQueue async in _asyncQueues)
            async.Dispose();
    }

    /// <summary>
    /// Runs transport hypercall <paramref name="call"/> with the guest's arguments and returns the
    /// value for RAX, as the registered handlers do (for tests and tools without a VM). Never throws
    /// on guest input.
    /// </summary>
    public long Dispatch(Hypercall call, in HypercallArgs args) => call switch
    {
        Hypercall.VirtioDeviceCount => _devices.Count,
        Hypercall.VirtioDeviceInfo => DeviceInfo(args),
        Hypercall.VirtioGetFeatures => GetFeatures(args),
        Hypercall.VirtioSetFeatures => SetFeatures(args),
        Hypercall.VirtioGetStatus => GetStatus(args),
        Hypercall.VirtioSetStatus => SetStatus(args),
        Hypercall.VirtioSetupQueue => SetupQueue(args),
        Hypercall.VirtioNotify => Notify(args),
        Hypercall.VirtioReadConfig => ReadConfig(args),
        Hypercall.VirtioBindAsyncQueue => BindAsync(args),
        _ => (long)HypercallStatus.UnknownHypercall,
    };

    private const long NotFound = (long)HypercallStatus.NotFound;

    private long DeviceInfo(in HypercallArgs a) => Device(a.Arg0) is { } d ? WriteDeviceInfo(d, a.Arg1) : NotFound;

    private long GetFeatures(in HypercallArgs a) => Device(a.Arg0) is { } d ? d.GetFeatures(a.Arg1) : NotFound;

    private long SetFeatures(in HypercallArgs a) => Device(a.Arg0) is { } d ? d.SetFeatures(a.Arg1, a.Arg2) : NotFound;

    private long GetStatus(in HypercallArgs a) => Device(a.Arg0) is { } d ? d.Status : NotFound;

    private long SetStatus(in HypercallArgs a) => Device(a.Arg0) is { } d ? d.SetStatus(a.Arg1) : NotFound;

    private long SetupQueue(in HypercallArgs a) => Device(a.Arg0) is { } d ? d.SetupQueue(a.Arg1, a.Arg2, a.Arg3, a.Arg4, a.Arg5) : NotFound;

    private long Notify(in HypercallArgs a) => Device(a.Arg0) is { } d ? d.Notify(a.Arg1) : NotFound;

    private long ReadConfig(in HypercallArgs a) => Device(a.Arg0) is { } d ? d.ReadConfig(a.Arg1, a.Arg2, a.Arg3) : NotFound;

    private long BindAsync(in HypercallArgs a)
    {
        if (Device(a.Arg0) is not { } d)
            return NotFound;
        long r = d.BindAsync(a.Arg1);
        if (r < 0)
            return r;
        // Invariant: BindAsync succeeded, so the queue was offered, so AddAsyncQueue registered it.
        for (int i = 0; i < _asyncQueues.Count; i++)
            if (_asyncQueues[i].Device == d && (ulong)_asyncQueues[i].Queue == a.Arg1)
                return VirtioAsyncBinding.Encode(_asyncQueues[i].Port, _asyncQueues[i].Channel);
        return (long)HypercallStatus.NotPermitted;
    }

    /// <summary>The device with transport index <paramref name="index"/>, or null.</summary>
    /// <remarks>Invariant: the index is guest-controlled; it indexes the list only after the range check.</remarks>
    private VirtioDevice? Device(ulong index) => index < (ulong)_devices.Count ? _devices[(int)index] : null;

    private long WriteDeviceInfo(VirtioDevice device, ulong address)
    {
        var info = new VirtioDeviceInfo
        {
            DeviceId = (uint)device.DeviceId,
            QueueCount = (ushort)device.QueueCount,
            MaxQueueSize = device.MaxQueueSize,
            ConfigSize = (uint)device.ConfigSize,
        };
        return Memory.TryWrite(address, info) ? 0 : (long)HypercallStatus.BadAddress;
    }
}
