using System;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// Marks a <see cref="VirtioDevice"/> subclass as a device a host loads by name from an assembly
/// (<c>paravirt run --device-assembly MyDevices.dll --device NAME</c>, <see cref="VirtioDeviceDiscovery"/>).
/// The class is public, not abstract, and has a public constructor taking
/// <c>(GuestMemory memory, string options)</c> or <c>(GuestMemory memory)</c>: <c>memory</c> is the
/// VM's guest-writable memory (rings and buffers must lie in it), <c>options</c> the text after the
/// name's colon (<c>--device rng:seed=42</c> gives <c>"seed=42"</c>; <c>""</c> without one).
/// A device that needs more than that implements <see cref="IVirtioDeviceFactory"/> instead.
/// </summary>
/// <example><code>
/// [VirtioDevice("rng")]
/// public sealed class EntropyDevice(GuestMemory memory, string options)
///     : VirtioDevice(memory, (VirtioDeviceId)4 /* entropy */, queueCount: 1, maxQueueSize: 64, deviceFeatures: 0, configSize: 0)
/// { ... }
/// </code></example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class VirtioDeviceAttribute : Attribute
{
    /// <summary>Names the device <paramref name="name"/>.</summary>
    public VirtioDeviceAttribute(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The name a host asks for (case-sensitive, no colon).</summary>
    public string Name { get; }
}
