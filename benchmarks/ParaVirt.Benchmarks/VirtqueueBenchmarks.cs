using System;
using BenchmarkDotNet.Attributes;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Virtio;

namespace ParaVirt.Benchmarks;

/// <summary>
/// Device-side split-ring processing: pop a one-descriptor chain (with full validation) and add it
/// to the used ring, in batches of <see cref="Batch"/> chains. The driver side costs one store per
/// batch: the available ring holds a fixed head per slot, and the driver only advances avail->idx.
/// One operation is one chain; chains per second = 1e9 / (ns per op).
/// </summary>
[MemoryDiagnoser]
public class VirtqueueBenchmarks
{
    private const ulong Desc = 0x1000, Avail = 0x10000, Used = 0x20000, Buffers = 0x100000;
    private const ushort QueueSize = 256;

    private GuestMemory _memory = null!;
    private SplitVirtqueue _queue = null!;
    private ushort _availIdx;

    /// <summary>Chains per driver publication and device pass.</summary>
    [Params(1, 32, 256)]
    public int Batch { get; set; }

    /// <summary>Whether VIRTIO_F_EVENT_IDX is negotiated (avail_event written per batch).</summary>
    [Params(false, true)]
    public bool EventIdx { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _memory = GuestMemory.Create(4 << 20);
        _queue = new SplitVirtqueue(_memory, QueueSize) { EventIdx = EventIdx };
        if (_queue.Setup(Desc, Avail, Used, QueueSize) != VirtqueueError.None)
            throw new InvalidOperationException("ring setup failed");
        for (ushort i = 0; i < QueueSize; i++)
        {
            _memory.TryWrite(Desc + 16UL * i, new VirtqDesc { Addr = Buffers + 4096UL * i, Len = 4096, Flags = VirtqDescFlags.Write });
            _memory.TryWrite(Avail + VirtqLayout.AvailEntryOffset(i), i);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _memory.Dispose();

    [Benchmark(OperationsPerInvoke = 256 * 64)]
    public int PopAndAddUsed()
    {
        int completed = 0;
        int batches = 256 * 64 / Batch;
        for (int b = 0; b < batches; b++)
        {
            // Driver: publish Batch more chains.
            _availIdx += (ushort)Batch;
            _memory.TryWrite(Avail + 2, _availIdx);
            // Device: the notification handler's loop.
            _queue.DisableNotification();
            while (_queue.TryPop(out DescriptorChain chain))
            {
                _queue.AddUsed(chain.Head, 4096);
                completed++;
            }
            _queue.EnableNotification();
        }
        return completed;
    }
}
