using System;
using System.Collections.Generic;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// The virtio hypercall transport of one VM: its list of virtio devices and the handlers of
/// hypercalls 16 to 24 (<see cref="Hypercall.VirtioDeviceCount"/> to <see cref="Hypercall.VirtioReadConfig"/>),
/// which stand in for the register block of virtio-pci or virtio-mmio. See docs/virtio.md.
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
public sealed class VirtioTransport
{
    /// <summary>The first hypercall number of the transport.</summary>
    public const uint FirstHypercall = (uint)Hypercall.VirtioDeviceCount;

    /// <summary>The last hypercall number of the transport in use (25 to 31 are reserved).</summary>
    public const uint LastHypercall = (uint)Hypercall.VirtioReadConfig;

    private readonly List<VirtioDevice> _devices = new();
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
