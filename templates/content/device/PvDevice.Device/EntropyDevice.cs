using System;
using System.Security.Cryptography;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Devices.Virtio;
using ParaVirt.Virtio;

namespace TemplateNamespace.Device;

/// <summary>
/// A virtio entropy device (virtio 1.x, 5.4: device ID 4, one request queue, no features, no
/// configuration): it fills each device-writable buffer the driver offers with random bytes.
/// </summary>
/// <remarks>
/// The guest is hostile. Everything it controls is validated by <see cref="SplitVirtqueue"/> and
/// <see cref="DescriptorChain"/> (a buffer outside guest memory is not handed out), and the work one
/// notification does is bounded: at most <see cref="MaxBytesPerChain"/> bytes per chain and
/// <see cref="NotificationBudget"/> per notification, whatever the descriptors claim. The loop with
/// notification suppression is <see cref="QueueDrain"/>.
/// </remarks>
[VirtioDevice(Name)]
public sealed class EntropyDevice : VirtioDevice
{
    /// <summary>The name `paravirt run --device` knows this device by (lower-case, from the project's name).</summary>
    public const string Name = "template-device-name";

    /// <summary>The virtio device ID of an entropy source.</summary>
    public const VirtioDeviceId EntropyId = (VirtioDeviceId)4;

    /// <summary>The largest queue the device accepts.</summary>
    public const ushort MaxQueue = 64;

    /// <summary>The most bytes one chain receives; the rest of its buffers stay untouched.</summary>
    public const int MaxBytesPerChain = 64 * 1024;

    /// <summary>The most bytes one notification delivers; later chains wait for the next one.</summary>
    public const int NotificationBudget = 1 << 20;

    /// <summary>Creates the device on the VM's guest-writable memory (rings and buffers must lie in it).</summary>
    public EntropyDevice(GuestMemory memory)
        : base(memory, EntropyId, queueCount: 1, MaxQueue, deviceFeatures: 0, configSize: 0)
    {
    }

    /// <summary>Random bytes delivered to the guest so far.</summary>
    public long BytesDelivered { get; private set; }

    /// <inheritdoc/>
    protected override int ProcessQueue(int index, SplitVirtqueue queue)
    {
        var drain = new QueueDrain(queue, NotificationBudget, MaxBytesPerChain, StopRequested);
        while (drain.TryNext(out DescriptorChain chain))
        {
            int budget = MaxBytesPerChain;
            foreach (VirtqBuffer buffer in chain.Buffers)
            {
                // Device-readable buffers carry nothing for an entropy device: skipped.
                if (!buffer.IsWriteOnly || budget == 0 || !chain.TryGetSpan(buffer, out Span<byte> bytes))
                    continue;
                Span<byte> fill = bytes[..Math.Min(bytes.Length, budget)];
                RandomNumberGenerator.Fill(fill);
                budget -= fill.Length;
            }
            uint written = (uint)(MaxBytesPerChain - budget);
            BytesDelivered += written;
            drain.Complete(chain, written, work: written);
        }
        return drain.Completed;
    }

    /// <inheritdoc/>
    protected override void FillConfig(Span<byte> config)
    {
        // No configuration space (configSize: 0).
    }
}
