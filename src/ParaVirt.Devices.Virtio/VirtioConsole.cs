using System;
using System.Buffers.Binary;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Console;
using ParaVirt.Core.Memory;
using ParaVirt.Virtio;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// virtio-console (virtio 1.x, 5.3) with one port and no optional features. Port 0's transmitq
/// (queue 1) prints the device-readable buffers of each chain on the VM's <see cref="GuestConsole"/>;
/// its receiveq (queue 0) fills device-writable buffers with pending console input when the driver
/// notifies it. Input that does not fit waits for the next receive buffers.
/// </summary>
/// <example>
/// <code>
/// var console = new VirtioConsole(vm.WritableMemory, vm.Console);
/// transport.Add(console);
/// // guest: put "hello\n" in a buffer, add it to queue 1, VirtioNotify(dev, 1) → 1 chain completed
/// </code>
/// </example>
public sealed class VirtioConsole : VirtioDevice
{
    /// <summary>Bytes of console input taken from the host in one go (allocated once).</summary>
    public const int InputBufferSize = 4096;

    private readonly GuestConsole _console;
    private readonly byte[] _input = new byte[InputBufferSize];
    private int _inputStart, _inputEnd;

    /// <summary>Creates a console writing to and reading from <paramref name="console"/>.</summary>
    public VirtioConsole(GuestMemory memory, GuestConsole console, ushort maxQueueSize = 256)
        : base(memory, VirtioDeviceId.Console, queueCount: 2, maxQueueSize, deviceFeatures: 0, VirtioConsoleConfig.Size)
    {
        ArgumentNullException.ThrowIfNull(console);
        _console = console;
    }

    /// <summary>Bytes of host input taken from the console but not yet given to the guest.</summary>
    public int PendingInput => _inputEnd - _inputStart;

    /// <inheritdoc/>
    protected override int ProcessQueue(int index, SplitVirtqueue queue) =>
        index == (int)VirtioConsoleConfig.TransmitQueue ? Transmit(queue) : Receive(queue);

    /// <inheritdoc/>
    protected override void FillConfig(Span<byte> config)
    {
        config.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(config[4..], 1); // max_nr_ports (meaningful only with MULTIPORT)
    }

    /// <inheritdoc/>
    protected override void OnReset()
    {
        _inputStart = 0;
        _inputEnd = 0;
    }

    /// <summary>The most bytes one transmit chain delivers to the console (64 KiB).</summary>
    public const int MaxTransmitPerChain = 64 * 1024;

    /// <summary>
    /// The most console bytes one transmit notification delivers (4 MiB, 64 chains at their
    /// largest). Chains beyond it stay available for the next notification, as virtio-blk's do.
    /// </summary>
    public const int NotificationByteBudget = 4 << 20;

    /// <summary>Bytes of transmit chains beyond <see cref="MaxTransmitPerChain"/>, dropped.</summary>
    public long TransmitDropped { get; private set; }

    private int Transmit(SplitVirtqueue queue)
    {
        // Invariant: one notification delivers at most NotificationByteBudget bytes; a chain is
        // started only while a whole one still fits. The rest waits for the next notify, and so
        // does everything once the VM is asked to stop (QueueDrain).
        var drain = new QueueDrain(queue, NotificationByteBudget, MaxTransmitPerChain, StopRequested);
        while (drain.TryNext(out DescriptorChain chain))
        {
            // Device-writable buffers in a transmit chain carry nothing for us: skipped, 0 bytes written.
            // Invariant: at most MaxTransmitPerChain bytes per chain reach the console, so the
            // work one notification does is bounded whatever the guest's descriptors claim
            // (a chain may alias all of RAM 256 times); the excess is dropped and counted.
            int budget = MaxTransmitPerChain;
            foreach (VirtqBuffer buffer in chain.Buffers)
            {
                if (buffer.IsWriteOnly || !chain.TryGetSpan(buffer, out Span<byte> bytes))
                    continue;
                int take = Math.Min(bytes.Length, budget);
                _console.Write(bytes[..take]);
                budget -= take;
                TransmitDropped += bytes.Length - take;
            }
            drain.Complete(chain, 0, MaxTransmitPerChain - budget);
        }
        return drain.Completed;
    }

    private int Receive(SplitVirtqueue queue)
    {
        int completed = 0;
        while (true)
        {
            // A receive buffer is taken only when there is input for it: otherwise it stays queued.
            if (_inputStart == _inputEnd)
            {
                _inputStart = 0;
                _inputEnd = _console.ReadInput(_input);
                if (_inputEnd == 0)
                    break;
            }
            if (!queue.TryPop(out DescriptorChain chain))
                break;
            uint written = 0;
            foreach (VirtqBuffer buffer in chain.Buffers)
            {
                if (_inputStart == _inputEnd)
                    break;
                if (!buffer.IsWriteOnly || !chain.TryGetSpan(buffer, out Span<byte> bytes))
                    continue;
                int n = Math.Min(bytes.Length, _inputEnd - _inputStart);
                _input.AsSpan(_inputStart, n).CopyTo(bytes);
                _inputStart += n;
                written += (uint)n;
            }
            queue.AddUsed(chain.Head, written);
            completed++;
        }
        queue.EnableNotification();
        return completed;
    }
}
