using System;
using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Virtio;

/// <summary>A device <see cref="VirtioDeviceDiscovery"/> found: its name, where it came from, and how to create it.</summary>
/// <param name="Name">The device's name (<see cref="VirtioDeviceAttribute.Name"/> or <see cref="IVirtioDeviceFactory.Name"/>).</param>
/// <param name="TypeName">The full name of the type that declared it.</param>
/// <param name="Create">
/// Creates the device from the VM's guest-writable memory and the options text. Exceptions of the
/// device's own constructor or factory arrive unwrapped (not as a <c>TargetInvocationException</c>).
/// </param>
public sealed record VirtioDeviceProvider(string Name, string TypeName, Func<GuestMemory, string, VirtioDevice> Create);
