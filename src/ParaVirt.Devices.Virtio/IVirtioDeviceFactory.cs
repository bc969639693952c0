using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// Creates a user's <see cref="VirtioDevice"/> by name, for devices whose construction is more than
/// <see cref="VirtioDeviceAttribute"/>'s constructor contract allows. A public, non-abstract class
/// with a public parameterless constructor; <see cref="VirtioDeviceDiscovery"/> finds it in an assembly.
/// </summary>
/// <example><code>
/// public sealed class RngFactory : IVirtioDeviceFactory
/// {
///     public string Name => "rng";
///     public VirtioDevice Create(GuestMemory memory, string options) => new EntropyDevice(memory, Seed.Parse(options));
/// }
/// </code></example>
public interface IVirtioDeviceFactory
{
    /// <summary>The name a host asks for (case-sensitive, no colon).</summary>
    string Name { get; }

    /// <summary>
    /// Creates the device on a machine being built. <paramref name="memory"/> is the VM's
    /// guest-writable memory; <paramref name="options"/> is the text after the name's colon, or "".
    /// May throw: the host reports the device's name and the message and does not start the VM.
    /// </summary>
    VirtioDevice Create(GuestMemory memory, string options);
}
