using ParaVirt.Abi.Nvme;
using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>
/// The controller's view of one submission queue: a ring of 64-byte entries in guest memory that
/// the driver fills and advances with the tail doorbell; the controller consumes from the head.
/// Also tracks which command IDs are in use (fetched, and their completion not yet consumed by the
/// driver), in a bitmap allocated once with the controller.
/// </summary>
/// <remarks>
/// <para>Validation: the base and size were checked when the queue was created (page aligned,
/// 2 to CAP.MQES + 1 entries, entirely inside guest memory), so an entry address computed from the
/// head is always inside the queue. A tail doorbell value at or past the size is refused
/// (<see cref="TrySetTail"/>); the controller then reports a fatal status.</para>
/// <para>An entry is copied out of guest memory once (<see cref="TryFetch"/>) and only the copy is
/// decoded, so a driver rewriting it meanwhile changes nothing.</para>
/// </remarks>
internal sealed class NvmeSubmissionQueue
{
    private readonly ulong[] _commandIdsInUse = new ulong[65536 / 64];

    public NvmeSubmissionQueue(ushort id) => Id = id;

    /// <summary>The queue identifier (0 is the admin queue).</summary>
    public ushort Id { get; }

    /// <summary>Whether the queue exists (created and not deleted, or the admin queue of an enabled controller).</summary>
    public bool IsActive { get; private set; }

    /// <summary>Guest address of entry 0.</summary>
    public ulong Base { get; private set; }

    /// <summary>Entries in the ring.</summary>
    public uint Size { get; private set; }

    /// <summary>The next entry the controller fetches.</summary>
    public uint Head { get; private set; }

    /// <summary>One past the last entry the driver submitted (its last doorbell value).</summary>
    public uint Tail { get; private set; }

    /// <summary>The completion queue this queue's commands complete on.</summary>
    public ushort CompletionQueueId { get; private set; }

    /// <summary>Whether entries wait between head and tail.</summary>
    public bool HasWork => IsActive && Head != Tail;

    /// <summary>Makes the queue exist at <paramref name="baseAddress"/> with <paramref name="size"/> entries (both already validated), empty.</summary>
    public void Activate(ulong baseAddress, uint size, ushort completionQueueId)
    {
        Base = baseAddress;
        Size = size;
        Head = 0;
        Tail = 0;
        CompletionQueueId = completionQueueId;
        System.Array.Clear(_commandIdsInUse);
        IsActive = true;
    }

    /// <summary>Deletes the queue: entries not yet fetched are dropped.</summary>
    public void Deactivate()
    {
        IsActive = false;
        Head = 0;
        Tail = 0;
        Size = 0;
    }

    /// <summary>A tail doorbell write; false (nothing changes) when the value is at or past the size.</summary>
    public bool TrySetTail(uint value)
    {
        if (value >= Size)
            return false;
        Tail = value;
        return true;
    }

    /// <summary>Copies the entry at the head and advances the head. False only when guest memory is closed.</summary>
    public bool TryFetch(GuestMemory memory, out NvmeSubmissionEntry entry)
    {
        // Invariant: Head < Size and the whole ring was checked inside guest memory at creation.
        if (!memory.TryRead(Base + (ulong)Head * NvmeSubmissionEntry.Size, out entry))
            return false;
        Head = Head + 1 == Size ? 0 : Head + 1;
        return true;
    }

    /// <summary>Whether <paramref name="commandId"/> is fetched and its completion not yet consumed.</summary>
    public bool IsCommandIdInUse(ushort commandId) => (_commandIdsInUse[commandId >> 6] & (1UL << (commandId & 63))) != 0;

    /// <summary>Marks <paramref name="commandId"/> in use.</summary>
    public void MarkCommandId(ushort commandId) => _commandIdsInUse[commandId >> 6] |= 1UL << (commandId & 63);

    /// <summary>Releases <paramref name="commandId"/>: the driver consumed its completion.</summary>
    public void ReleaseCommandId(ushort commandId) => _commandIdsInUse[commandId >> 6] &= ~(1UL << (commandId & 63));
}
