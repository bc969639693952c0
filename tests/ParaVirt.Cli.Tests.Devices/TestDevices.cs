using System;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Devices.Virtio;
using ParaVirt.Virtio;

namespace ParaVirt.Cli.Tests.Devices;

/// <summary>
/// A virtio-rng style device (id 4, one queue): fills each device-writable buffer with a counter
/// byte sequence starting at the options' <c>seed=N</c>. Bounded work: at most 64 chains and 4 KiB
/// per chain per notification, the rest deferred.
/// </summary>
[VirtioDevice("rng")]
public sealed class TestRng : VirtioDevice
{
    private byte _next;

    public TestRng(GuestMemory memory, string options)
        : base(memory, (VirtioDeviceId)4, queueCount: 1, maxQueueSize: 64, deviceFeatures: 0, configSize: 0)
    {
        Options = options;
        if (options.StartsWith("seed=", StringComparison.Ordinal))
            _next = byte.Parse(options.AsSpan(5));
    }

    /// <summary>The options string the host gave.</summary>
    public string Options { get; }

    protected override int ProcessQueue(int index, SplitVirtqueue queue)
    {
        int completed = 0;
        do
        {
            queue.DisableNotification();
            while (completed < 64 && !IsStopRequested && queue.TryPop(out DescriptorChain chain))
            {
                uint written = 0;
                foreach (VirtqBuffer buffer in chain.Buffers)
                {
                    if (!buffer.IsWriteOnly || !chain.TryGetSpan(buffer, out Span<byte> bytes))
                        continue;
                    bytes = bytes[..Math.Min(bytes.Length, 4096 - (int)written)];
                    for (int i = 0; i < bytes.Length; i++)
                        bytes[i] = _next++;
                    written += (uint)bytes.Length;
                }
                queue.AddUsed(chain.Head, written);
                completed++;
            }
            if (completed >= 64 || IsStopRequested)
            {
                queue.DeferRemaining();
                return completed;
            }
        }
        while (queue.EnableNotification());
        return completed;
    }

    protected override void FillConfig(Span<byte> config)
    {
    }
}

/// <summary>A device whose constructor always throws, as a misconfigured one would.</summary>
[VirtioDevice("broken")]
public sealed class BrokenDevice : VirtioDevice
{
    public BrokenDevice(GuestMemory memory)
        : base(memory, (VirtioDeviceId)4, 1, 64, 0, 0) =>
        throw new InvalidOperationException("the test device refuses to start");

    protected override int ProcessQueue(int index, SplitVirtqueue queue) => 0;

    protected override void FillConfig(Span<byte> config)
    {
    }
}

/// <summary>A device made by a factory: an <see cref="TestRng"/> seeded with 42 unless the options say otherwise.</summary>
public sealed class SeededRngFactory : IVirtioDeviceFactory
{
    public string Name => "seeded-rng";

    public VirtioDevice Create(GuestMemory memory, string options) => new TestRng(memory, options.Length == 0 ? "seed=42" : options);
}
