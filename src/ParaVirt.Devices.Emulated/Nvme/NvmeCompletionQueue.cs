using ParaVirt.Abi.Nvme;
using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>
/// The controller's view of one completion queue: a ring of 16-byte entries in guest memory that
/// the controller fills at the tail, flipping the phase tag at each wrap, and the driver consumes,
/// reporting progress with the head doorbell.
/// </summary>
/// <remarks>
/// <para>Never overwrites: the queue is full when the tail is one entry behind the head, and the
/// controller then fetches no command whose completion would go here (the commands wait in their
/// submission queues until the driver frees entries). A driver that never consumes completions
/// stalls its own queues and nothing else.</para>
/// <para>Head doorbell: the new head must lie between the current head and the tail (the entries
/// posted and not yet consumed); anything else means the driver lost track of the phase tag, and
/// <see cref="TrySetHead"/> refuses it.</para>
/// <para>Memory ordering: dwords 0-2 of an entry are written, then dword 3 (command ID, status,
/// phase) in a second copy. Each copy takes and releases a guest memory lease (interlocked, a full
/// barrier), so the driver never sees the new phase tag before the rest of the entry.</para>
/// <para>For command-ID tracking, the queue records for each posted entry which submission queue
/// and command ID it completes (arrays allocated once, at the largest queue size).</para>
/// </remarks>
internal sealed class NvmeCompletionQueue
{
    private readonly ushort[] _commandIds;
    private readonly ushort[] _submissionQueues; // bit 15: the entry holds a command ID in use

    private const ushort Tracked = 0x8000;

    public NvmeCompletionQueue(ushort id, int maxEntries)
    {
        Id = id;
        _commandIds = new ushort[maxEntries];
        _submissionQueues = new ushort[maxEntries];
    }

    /// <summary>The queue identifier (0 is the admin queue).</summary>
    public ushort Id { get; }

    /// <summary>Whether the queue exists.</summary>
    public bool IsActive { get; private set; }

    /// <summary>Guest address of entry 0.</summary>
    public ulong Base { get; private set; }

    /// <summary>Entries in the ring.</summary>
    public uint Size { get; private set; }

    /// <summary>The next entry the driver will consume (its last doorbell value).</summary>
    public uint Head { get; private set; }

    /// <summary>The next entry the controller posts.</summary>
    public uint Tail { get; private set; }

    /// <summary>The phase tag the controller writes on this pass through the ring (1 on the first).</summary>
    public bool Phase { get; private set; }

    /// <summary>Whether the driver asked for an interrupt when entries are posted.</summary>
    public bool InterruptsEnabled { get; private set; }

    /// <summary>Submission queues that complete here (a queue in use cannot be deleted).</summary>
    public int SubmissionQueues { get; set; }

    /// <summary>Whether posting another entry would overwrite one the driver has not consumed.</summary>
    public bool IsFull => Next(Tail) == Head;

    /// <summary>Entries posted and not yet consumed.</summary>
    public uint Pending => Tail >= Head ? Tail - Head : Tail + Size - Head;

    /// <summary>Makes the queue exist (base and size already validated), empty, phase 1.</summary>
    public void Activate(ulong baseAddress, uint size, bool interruptsEnabled)
    {
        Base = baseAddress;
        Size = size;
        Head = 0;
        Tail = 0;
        Phase = true;
        InterruptsEnabled = interruptsEnabled;
        SubmissionQueues = 0;
        IsActive = true;
    }

    /// <summary>Deletes the queue.</summary>
    public void Deactivate()
    {
        IsActive = false;
        Head = 0;
        Tail = 0;
        Size = 0;
        SubmissionQueues = 0;
    }

    /// <summary>
    /// Writes one completion at the tail and advances it. The caller checked <see cref="IsFull"/>.
    /// <paramref name="tracked"/>: the command ID was marked in use and is released when the driver
    /// consumes this entry. False only when guest memory is closed.
    /// </summary>
    public bool TryPost(GuestMemory memory, ushort submissionQueueId, ushort submissionHead, ushort commandId, ushort status, uint result, bool tracked)
    {
        ulong address = Base + (ulong)Tail * NvmeCompletionEntry.Size;
        ulong low = result; // dword 1 reserved
        uint dword2 = submissionHead | ((uint)submissionQueueId << 16);
        uint dword3 = commandId | ((uint)(Phase ? NvmeCompletionEntry.PhaseBit : 0) << 16) | ((uint)(status & 0x7FFF) << 17);
        // Invariant: the ring was checked inside guest memory at creation; Tail < Size.
        if (!memory.TryWrite(address, low) || !memory.TryWrite(address + 8, dword2) || !memory.TryWrite(address + 12, dword3))
            return false;
        _commandIds[Tail] = commandId;
        _submissionQueues[Tail] = (ushort)(submissionQueueId | (tracked ? Tracked : 0));
        Tail = Next(Tail);
        if (Tail == 0)
            Phase = !Phase;
        return true;
    }

    /// <summary>
    /// A head doorbell write: releases the command IDs of the entries consumed. False (nothing
    /// changes) when <paramref name="value"/> is at or past the size, or past the tail.
    /// </summary>
    public bool TrySetHead(uint value, NvmeSubmissionQueue?[] submissionQueues)
    {
        if (value >= Size)
            return false;
        uint consumed = value >= Head ? value - Head : value + Size - Head;
        if (consumed > Pending)
            return false;
        for (uint i = 0; i < consumed; i++)
        {
            uint slot = Head;
            ushort sq = _submissionQueues[slot];
            if ((sq & Tracked) != 0 && (sq & ~Tracked) < submissionQueues.Length && submissionQueues[sq & ~Tracked] is { IsActive: true } queue)
                queue.ReleaseCommandId(_commandIds[slot]);
            Head = Next(Head);
        }
        return true;
    }

    /// <summary>Forgets the command IDs of <paramref name="submissionQueueId"/> in posted entries (that queue is being deleted).</summary>
    public void Untrack(ushort submissionQueueId)
    {
        for (uint i = 0, slot = Head; i < Pending; i++, slot = Next(slot))
            if ((_submissionQueues[slot] & ~Tracked) == submissionQueueId)
                _submissionQueues[slot] &= unchecked((ushort)~Tracked);
    }

    private uint Next(uint index) => index + 1 == Size ? 0 : index + 1;
}
