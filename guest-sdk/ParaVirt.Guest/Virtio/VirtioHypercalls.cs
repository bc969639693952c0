using Internal.Runtime;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;

namespace ParaVirt.Guest.Virtio;

/// <summary>
/// Typed wrappers over the virtio transport hypercalls 16 to 25 (docs/virtio.md). Each is one exit;
/// a negative result is a <see cref="HypercallStatus"/>.
/// </summary>
/// <example><code>
/// long count = VirtioHypercalls.DeviceCount();
/// VirtioDeviceInfo info;
/// if (VirtioHypercalls.DeviceInfo(0, &amp;info) == 0 &amp;&amp; info.DeviceId == (uint)VirtioDeviceId.Block) { }
/// </code></example>
public static unsafe class VirtioHypercalls
{
    /// <summary>The number of virtio devices.</summary>
    public static long DeviceCount() => RawHypercall.Call(Hypercall.VirtioDeviceCount);

    /// <summary>Writes device <paramref name="dev"/>'s <see cref="VirtioDeviceInfo"/> to <paramref name="info"/>.</summary>
    public static long DeviceInfo(uint dev, VirtioDeviceInfo* info) => RawHypercall.Call(Hypercall.VirtioDeviceInfo, dev, (ulong)info);

    /// <summary>Offered feature bits 32·<paramref name="word"/> to 32·<paramref name="word"/>+31.</summary>
    public static long GetFeatures(uint dev, uint word) => RawHypercall.Call(Hypercall.VirtioGetFeatures, dev, word);

    /// <summary>Accepts feature bits of <paramref name="word"/>.</summary>
    public static long SetFeatures(uint dev, uint word, uint bits) => RawHypercall.Call(Hypercall.VirtioSetFeatures, dev, word, bits);

    /// <summary>The device status byte.</summary>
    public static long GetStatus(uint dev) => RawHypercall.Call(Hypercall.VirtioGetStatus, dev);

    /// <summary>Writes the status byte; returns the status the device holds afterwards.</summary>
    public static long SetStatus(uint dev, byte status) => RawHypercall.Call(Hypercall.VirtioSetStatus, dev, status);

    /// <summary>Gives the device queue <paramref name="queue"/>'s three areas and its size.</summary>
    public static long SetupQueue(uint dev, uint queue, ulong desc, ulong avail, ulong used, uint size) =>
        RawHypercall.Call6(Hypercall.VirtioSetupQueue, dev, queue, desc, avail, used, size);

    /// <summary>The doorbell: the device processes the queue now; returns the chains it completed.</summary>
    public static long Notify(uint dev, uint queue) => RawHypercall.Call(Hypercall.VirtioNotify, dev, queue);

    /// <summary>
    /// Switches queue <paramref name="queue"/> to the asynchronous transport (ABI 0.2); returns its
    /// <see cref="VirtioAsyncBinding"/> (doorbell port, event channel) or a negative status.
    /// </summary>
    public static long BindAsyncQueue(uint dev, uint queue) => RawHypercall.Call(Hypercall.VirtioBindAsyncQueue, dev, queue);

    /// <summary>Copies config bytes [<paramref name="offset"/>, +<paramref name="length"/>) to <paramref name="destination"/>.</summary>
    public static long ReadConfig(uint dev, uint offset, void* destination, uint length) =>
        RawHypercall.Call6(Hypercall.VirtioReadConfig, dev, offset, (ulong)destination, length, 0, 0);
}
