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

    /// <summary>Registers hypercalls 16 to 24 in <paramref name="table"/>, each dispatching to <see cref="Dispatch"/>.</summary>
    public void Register(HypercallTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        for (uint number = FirstHypercall; number <= LastHypercall; number++)
        {
            Hypercall call = (Hypercall)number;
            table.Register(call, (VirtualMachine _, in HypercallArgs args) => Dispatch(call, args));
        }
    }

    /// <summary>
    /// Runs transport hypercall <paramref name="call"/> with the guest's arguments and returns the
    /// value for RAX. Never throws on guest input.
    /// </summary>
    public long Dispatch(Hypercall call, in HypercallArgs args)
    {
        if (call == Hypercall.VirtioDeviceCount)
            return _devices.Count;
        if (call < Hypercall.VirtioDeviceCount || call > Hypercall.VirtioReadConfig)
            return (long)HypercallStatus.UnknownHypercall;
        // Invariant: arg0 is guest-controlled; it indexes the list only after the range check.
        if (args.Arg0 >= (ulong)_devices.Count)
            return (long)HypercallStatus.NotFound;
        VirtioDevice device = _devices[(int)args.Arg0];
        return call switch
        {
            Hypercall.VirtioDeviceInfo => WriteDeviceInfo(device, args.Arg1),
            Hypercall.VirtioGetFeatures => device.GetFeatures(args.Arg1),
            Hypercall.VirtioSetFeatures => device.SetFeatures(args.Arg1, args.Arg2),
            Hypercall.VirtioGetStatus => device.Status,
            Hypercall.VirtioSetStatus => device.SetStatus(args.Arg1),
            Hypercall.VirtioSetupQueue => device.SetupQueue(args.Arg1, args.Arg2, args.Arg3, args.Arg4, args.Arg5),
            Hypercall.VirtioNotify => device.Notify(args.Arg1),
            Hypercall.VirtioReadConfig => device.ReadConfig(args.Arg1, args.Arg2, args.Arg3),
            _ => (long)HypercallStatus.UnknownHypercall,
        };
    }

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
