using System;
using System.Runtime.InteropServices;
using ParaVirt.Core.Memory;

namespace ParaVirt.Virtio;

/// <summary>
/// A descriptor chain popped from a <see cref="SplitVirtqueue"/>: its head index and its buffers,
/// every one already validated (indices, loops, indirect tables, guest memory bounds). A struct:
/// popping a chain allocates nothing.
/// </summary>
/// <remarks>
/// Like the <c>ReadResult</c> of System.IO.Pipelines, a chain is a view over state the queue owns:
/// <see cref="Buffers"/> is valid until the next <see cref="SplitVirtqueue.TryPop"/> or
/// <see cref="SplitVirtqueue.Reset"/> on the same queue; using it afterwards throws
/// <see cref="InvalidOperationException"/>. Complete the chain with
/// <see cref="SplitVirtqueue.AddUsed"/>(<see cref="Head"/>, bytesWritten).
/// </remarks>
/// <example>
/// <code>
/// while (queue.TryPop(out DescriptorChain chain))
/// {
///     uint written = 0;
///     foreach (VirtqBuffer buffer in chain.Buffers)
///     {
///         if (!chain.TryGetSpan(buffer, out Span&lt;byte&gt; bytes))
///             continue;                               // longer than 2 GiB: the device's own error
///         if (buffer.IsWriteOnly) { bytes.Fill(0); written += buffer.Length; }
///         else Consume(bytes);
///     }
///     queue.AddUsed(chain.Head, written);
/// }
/// if (queue.Error != VirtqueueError.None) { /* the guest broke the ring: DEVICE_NEEDS_RESET */ }
/// </code>
/// </example>
[StructLayout(LayoutKind.Auto)]
public readonly struct DescriptorChain
{
    private readonly SplitVirtqueue? _queue;
    private readonly uint _generation;
    private readonly int _count;

    internal DescriptorChain(SplitVirtqueue queue, ushort head, int count, uint generation, ulong readableBytes, ulong writableBytes)
    {
        _queue = queue;
        Head = head;
        _count = count;
        _generation = generation;
        ReadableBytes = readableBytes;
        WritableBytes = writableBytes;
    }

    /// <summary>Index of the chain's head descriptor: the id to give <see cref="SplitVirtqueue.AddUsed"/>.</summary>
    public ushort Head { get; }

    /// <summary>Number of buffers (an indirect descriptor counts as the entries of its table).</summary>
    public int Count => _count;

    /// <summary>Total bytes of the device-readable buffers.</summary>
    public ulong ReadableBytes { get; }

    /// <summary>Total bytes of the device-writable buffers.</summary>
    public ulong WritableBytes { get; }

    /// <summary>The buffers in chain order (indirect tables flattened). Valid until the queue's next pop.</summary>
    /// <exception cref="InvalidOperationException">The chain is default or stale.</exception>
    public ReadOnlySpan<VirtqBuffer> Buffers =>
        _queue is null ? throw new InvalidOperationException("this chain is empty (default)") : _queue.GetChainBuffers(_count, _generation);

    /// <summary>
    /// A span over <paramref name="buffer"/> in guest memory; false only if the buffer is longer than
    /// <see cref="int.MaxValue"/> bytes (its range was validated when the chain was popped) or the
    /// memory is closed. Off the vCPU thread, use the span only while holding a lease on the queue's
    /// memory (<see cref="GuestMemory.Lease"/>).
    /// </summary>
    public bool TryGetSpan(in VirtqBuffer buffer, out Span<byte> bytes)
    {
        GuestMemory? memory = _queue?.Memory;
        if (memory is null)
        {
            bytes = default;
            return false;
        }
        return memory.TryGetSpan(buffer.Address, buffer.Length, out bytes);
    }
}
