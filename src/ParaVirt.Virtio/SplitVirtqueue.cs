using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;

namespace ParaVirt.Virtio;

/// <summary>
/// The device side of one virtio split virtqueue (virtio 1.x, 2.7), in guest memory the guest
/// controls and may corrupt at any moment. Everything read from the rings is validated as
/// rust-vmm's virtio-queue does; a violation stops the queue with a sticky <see cref="Error"/>
/// (the owning device then reports DEVICE_NEEDS_RESET) and never touches host memory outside the
/// guest: ring pointers come from <see cref="GuestMemory.TryGetSpan"/> at setup, buffers are
/// checked with <see cref="GuestMemory.IsValid"/> before a chain is handed out.
/// </summary>
/// <example>
/// A device's notification handler, with notification suppression while it works:
/// <code>
/// var queue = new SplitVirtqueue(memory, maxSize: 256) { EventIdx = true, IndirectDescriptors = true };
/// if (queue.Setup(descGpa, availGpa, usedGpa, size: 256) != VirtqueueError.None)
///     return HypercallStatus.BadAddress;
///
/// int completed = 0;
/// do
/// {
///     queue.DisableNotification();
///     while (queue.TryPop(out DescriptorChain chain))
///     {
///         uint written = Process(chain);              // chain.Buffers: validated, flattened
///         queue.AddUsed(chain.Head, written);
///         completed++;
///     }
/// } while (queue.EnableNotification());              // true: the driver added more meanwhile
/// if (queue.Error != VirtqueueError.None) device.NeedsReset();
/// if (queue.NeedsNotification()) InjectInterrupt();  // vring_need_event / NO_INTERRUPT
/// </code>
/// </example>
/// <remarks>
/// <para>Guest memory lifetime: the ring pointers are cached at setup, and every method that
/// dereferences them (<see cref="Setup"/>, <see cref="TryPop"/>, <see cref="AddUsed"/>,
/// <see cref="NeedsNotification"/>, <see cref="DisableNotification"/>, <see cref="EnableNotification"/>,
/// <see cref="DeferRemaining"/>, <see cref="HasAvailable"/>) holds a <see cref="GuestMemory"/> lease while it does, so the memory
/// cannot be unmapped under it. Once the memory is closed the lease is refused: the method touches
/// nothing and <see cref="Error"/> becomes <see cref="VirtqueueError.MemoryClosed"/>. The buffers of a
/// popped chain are the caller's: a device thread holds its own lease while it uses their spans.</para>
/// <para>Not thread-safe: one thread (the vCPU thread, or one device thread) drives a queue. Memory
/// ordering with the driver follows the spec: the available index is read with acquire semantics
/// before the ring entries and descriptors it publishes; used elements are written before the used
/// index is published with release semantics; a full barrier separates the device's index or event
/// stores from its reads of the driver's suppression fields.</para>
/// </remarks>
public sealed unsafe class SplitVirtqueue
{
    private const int AvailIdxOffset = 2;
    private const int UsedIdxOffset = 2;

    private readonly VirtqBuffer[] _chain;

    // Host pointers into guest memory, obtained from GuestMemory.TryGetSpan over the whole area at setup.
    private byte* _desc;
    private byte* _avail;
    private byte* _used;
    private ushort _size;
    private ushort _mask;

    private ushort _nextAvail;       // the next available ring slot the device will consume
    private ushort _availIdxShadow;  // the driver's avail->idx as last read and validated
    private ushort _nextUsed;        // the used->idx the device last published
    private ushort _signalledUsed;   // _nextUsed at the last NeedsNotification decision
    private ushort _usedFlags;       // the device's own copy of used->flags
    private uint _generation;
    private VirtqueueError _error;

    /// <summary>Creates a queue over <paramref name="memory"/> that accepts sizes up to <paramref name="maxSize"/>.</summary>
    /// <param name="memory">Guest memory holding the rings and buffers.</param>
    /// <param name="maxSize">The largest queue size the device offers: a power of two up to 32768.</param>
    public SplitVirtqueue(GuestMemory memory, ushort maxSize)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (!VirtqLayout.IsValidQueueSize(maxSize))
            throw new ArgumentOutOfRangeException(nameof(maxSize), maxSize, "a queue size is a power of two from 1 to 32768");
        Memory = memory;
        MaxSize = maxSize;
        // Allocated once: a chain holds at most the queue size of direct descriptors, or fewer
        // direct ones followed by one indirect table of at most MaxIndirectTableEntries.
        _chain = new VirtqBuffer[maxSize + MaxIndirectTableEntries];
    }

    /// <summary>
    /// The most entries an indirect table may hold (1024, as QEMU accepts), whatever the queue size.
    /// The spec asks drivers not to build chains longer than the queue, but Linux's driver checks
    /// that only for direct chains: at a queue size of 2 it puts a 3- or 4-segment request into one
    /// indirect table. A fixed bound keeps that interoperable and the work per chain bounded.
    /// </summary>
    public const int MaxIndirectTableEntries = 1024;

    /// <summary>The guest memory the rings and buffers live in.</summary>
    public GuestMemory Memory { get; }

    /// <summary>The largest size <see cref="Setup"/> accepts.</summary>
    public ushort MaxSize { get; }

    /// <summary>The size set up, or 0 when the queue is not ready.</summary>
    public ushort Size => _size;

    /// <summary>Whether <see cref="Setup"/> succeeded since construction or the last <see cref="Reset"/>.</summary>
    public bool IsReady => _desc != null;

    /// <summary>The first violation found in the rings, or <see cref="VirtqueueError.None"/>. Sticky until <see cref="Reset"/>.</summary>
    public VirtqueueError Error => _error;

    /// <summary>VIRTIO_F_EVENT_IDX was negotiated: use <c>used_event</c> / <c>avail_event</c> instead of the flags.</summary>
    public bool EventIdx { get; set; }

    /// <summary>VIRTIO_F_INDIRECT_DESC was negotiated: <c>VIRTQ_DESC_F_INDIRECT</c> is allowed.</summary>
    public bool IndirectDescriptors { get; set; }

    /// <summary>The next available ring slot the device will consume (free-running).</summary>
    public ushort NextAvail => _nextAvail;

    /// <summary>The used index the device last published (free-running).</summary>
    public ushort NextUsed => _nextUsed;

    /// <summary>
    /// Places the queue's three areas and makes it ready. Checks the size (a power of two, at most
    /// <see cref="MaxSize"/>), that each area lies inside one guest memory region
    /// (descriptor table 16·size, available ring 6 + 2·size, used ring 6 + 8·size bytes) and its
    /// alignment (16, 2, 4). On failure the queue is left not ready and nothing is written.
    /// </summary>
    /// <returns><see cref="VirtqueueError.None"/>, or the setup error.</returns>
    public VirtqueueError Setup(ulong descTable, ulong availRing, ulong usedRing, uint size)
    {
        if (!VirtqLayout.IsValidQueueSize(size) || size > MaxSize)
            return VirtqueueError.InvalidSize;
        if (descTable % VirtqLayout.DescAlign != 0 || availRing % VirtqLayout.AvailAlign != 0 || usedRing % VirtqLayout.UsedAlign != 0)
            return VirtqueueError.RingMisaligned;
        if (!Memory.TryAcquire())
            return VirtqueueError.MemoryClosed;
        try
        {
            return SetupLeased(descTable, availRing, usedRing, size);
        }
        finally
        {
            Memory.Release();
        }
    }

    private VirtqueueError SetupLeased(ulong descTable, ulong availRing, ulong usedRing, uint size)
    {
        if (!TryGetArea(descTable, VirtqLayout.DescTableSize(size), out byte* desc)
            || !TryGetArea(availRing, VirtqLayout.AvailRingSize(size), out byte* avail)
            || !TryGetArea(usedRing, VirtqLayout.UsedRingSize(size), out byte* used))
            return VirtqueueError.RingOutsideMemory;

        Reset();
        _desc = desc;
        _avail = avail;
        _used = used;
        _size = (ushort)size;
        _mask = (ushort)(size - 1);
        // The device starts from the driver's current indices: a fresh ring has both at 0.
        _usedFlags = 0;
        Volatile.Write(ref UsedFlagsRef, 0);
        Volatile.Write(ref UsedIdxRef, 0);
        return VirtqueueError.None;
    }

    /// <summary>Forgets the rings, the indices and any error: the queue is not ready until the next <see cref="Setup"/>.</summary>
    public void Reset()
    {
        _desc = null;
        _avail = null;
        _used = null;
        _size = 0;
        _mask = 0;
        _nextAvail = 0;
        _availIdxShadow = 0;
        _nextUsed = 0;
        _signalledUsed = 0;
        _usedFlags = 0;
        _error = VirtqueueError.None;
        _generation++;
    }

    /// <summary>
    /// Takes the next available chain, validated in full, or returns false when the ring is empty,
    /// the queue is not ready, or the guest broke the ring (then <see cref="Error"/> says how).
    /// </summary>
    /// <remarks>The chain's <see cref="DescriptorChain.Buffers"/> stay valid until the next call. Allocates nothing.</remarks>
    public bool TryPop(out DescriptorChain chain)
    {
        chain = default;
        if (_error != VirtqueueError.None || _desc == null)
            return false;
        if (!Memory.TryAcquire())
            return Fail(VirtqueueError.MemoryClosed);
        try
        {
            return TryPopLeased(out chain);
        }
        finally
        {
            Memory.Release();
        }
    }

    private bool TryPopLeased(out DescriptorChain chain)
    {
        chain = default;
        if (_nextAvail == _availIdxShadow && !RefreshAvailIdx())
            return false;

        // Invariant: _nextAvail != _availIdxShadow and the acquire load in RefreshAvailIdx happened
        // after the driver wrote this slot; the slot is read once and then validated.
        ushort head = Unsafe.ReadUnaligned<ushort>(_avail + VirtqLayout.RingOffset + 2u * (uint)(_nextAvail & _mask));
        if (head >= _size)
            return Fail(VirtqueueError.HeadOutOfRange);
        if (!TryWalkChain(head, out int count, out ulong readable, out ulong writable))
            return false;

        _nextAvail++;
        _generation++;
        chain = new DescriptorChain(this, head, count, _generation, readable, writable);
        return true;
    }

    /// <summary>
    /// Returns a chain to the driver: writes used element {<paramref name="head"/>, <paramref name="bytesWritten"/>}
    /// and publishes the new used index. Works after a ring violation too (the used ring was
    /// validated at setup), so chains taken before it can still be completed. If the guest memory is
    /// closed, nothing is written and <see cref="Error"/> becomes <see cref="VirtqueueError.MemoryClosed"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The queue is not set up (a device bug).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="head"/> is not a descriptor index (a device bug).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddUsed(ushort head, uint bytesWritten)
    {
        if (_used == null || head >= _size)
            ThrowAddUsed(head);
        if (!Memory.TryAcquire())
        {
            _error = VirtqueueError.MemoryClosed;
            return;
        }
        VirtqUsedElem* element = (VirtqUsedElem*)(_used + VirtqLayout.RingOffset + 8u * (uint)(_nextUsed & _mask));
        element->Id = head;
        element->Len = bytesWritten;
        _nextUsed++;
        // Release: the element stores above are visible to the driver before the index that publishes them.
        Volatile.Write(ref UsedIdxRef, _nextUsed);
        Memory.Release();
    }

    /// <summary>
    /// Whether the driver wants to be told about the used buffers added since the last call:
    /// with EVENT_IDX, <c>vring_need_event(used_event, new used idx, used idx at the last call)</c>;
    /// without, whether anything was added and <c>VIRTQ_AVAIL_F_NO_INTERRUPT</c> is clear.
    /// </summary>
    public bool NeedsNotification()
    {
        if (_avail == null)
            return false;
        if (!Memory.TryAcquire())
            return Fail(VirtqueueError.MemoryClosed);
        try
        {
            return NeedsNotificationLeased();
        }
        finally
        {
            Memory.Release();
        }
    }

    private bool NeedsNotificationLeased()
    {
        ushort oldUsed = _signalledUsed;
        ushort newUsed = _nextUsed;
        _signalledUsed = newUsed;
        // Full barrier: our used->idx store must be visible before we load used_event / flags
        // (store then load), or the driver may decide it need not be told while we decide alike.
        Interlocked.MemoryBarrier();
        if (EventIdx)
        {
            ushort usedEvent = Volatile.Read(ref Unsafe.AsRef<ushort>(_avail + VirtqLayout.UsedEventOffset(_size)));
            return VirtqLayout.NeedEvent(usedEvent, newUsed, oldUsed);
        }
        ushort flags = Volatile.Read(ref Unsafe.AsRef<ushort>(_avail));
        return newUsed != oldUsed && (flags & VirtqAvailFlags.NoInterrupt) == 0;
    }

    /// <summary>
    /// Tells the driver it need not notify the device for now: sets <c>VIRTQ_USED_F_NO_NOTIFY</c>
    /// without EVENT_IDX; with EVENT_IDX it leaves <c>avail_event</c> where it is, so the driver
    /// stops notifying once it has passed it.
    /// </summary>
    public void DisableNotification()
    {
        if (_used == null || EventIdx)
            return;
        if (!Memory.TryAcquire())
        {
            _error = VirtqueueError.MemoryClosed;
            return;
        }
        _usedFlags |= VirtqUsedFlags.NoNotify;
        Volatile.Write(ref UsedFlagsRef, _usedFlags);
        Memory.Release();
    }

    /// <summary>
    /// Asks the driver to notify the device for the next buffer (clears <c>VIRTQ_USED_F_NO_NOTIFY</c>,
    /// or sets <c>avail_event</c> to the next slot) and returns whether buffers arrived meanwhile, in
    /// which case the caller must process them rather than wait for a notification.
    /// </summary>
    public bool EnableNotification()
    {
        if (_used == null || _error != VirtqueueError.None)
            return false;
        if (!Memory.TryAcquire())
            return Fail(VirtqueueError.MemoryClosed);
        try
        {
            return EnableNotificationLeased();
        }
        finally
        {
            Memory.Release();
        }
    }

    /// <summary>
    /// For a device that stops while chains are still available (its per-notification work budget
    /// ran out, or the VM is stopping): asks the driver to notify again and returns whether chains
    /// are pending. They stay in the available ring for the next notification. Without EVENT_IDX
    /// it clears <c>VIRTQ_USED_F_NO_NOTIFY</c>; with EVENT_IDX it sets <c>avail_event</c> to the
    /// available index the device has seen (not to the first pending slot, which the driver has
    /// passed), so <c>vring_need_event(avail_event, new, old)</c> is true for the driver's next buffer.
    /// </summary>
    public bool DeferRemaining()
    {
        if (_used == null || _error != VirtqueueError.None)
            return false;
        if (!Memory.TryAcquire())
            return Fail(VirtqueueError.MemoryClosed);
        try
        {
            if (!RefreshAvailIdx() && _error != VirtqueueError.None)
                return false;
            if (EventIdx)
            {
                Volatile.Write(ref Unsafe.AsRef<ushort>(_used + VirtqLayout.AvailEventOffset(_size)), _availIdxShadow);
            }
            else
            {
                _usedFlags &= unchecked((ushort)~VirtqUsedFlags.NoNotify);
                Volatile.Write(ref UsedFlagsRef, _usedFlags);
            }
            // Full barrier: the store above is visible before the caller returns to the driver.
            Interlocked.MemoryBarrier();
            return _availIdxShadow != _nextAvail;
        }
        finally
        {
            Memory.Release();
        }
    }

    /// <summary>
    /// Whether the driver has made chains available that the device has not consumed yet (reads
    /// <c>avail-&gt;idx</c> with acquire semantics and validates it). A device thread asks this after a
    /// notification that stopped at its work budget, to go on without waiting for another doorbell.
    /// </summary>
    public bool HasAvailable()
    {
        if (_avail == null || _error != VirtqueueError.None)
            return false;
        if (_nextAvail != _availIdxShadow)
            return true;
        if (!Memory.TryAcquire())
            return Fail(VirtqueueError.MemoryClosed);
        try
        {
            return RefreshAvailIdx();
        }
        finally
        {
            Memory.Release();
        }
    }

    private bool EnableNotificationLeased()
    {
        if (EventIdx)
        {
            // Release: avail_event names the slot after everything consumed so far.
            Volatile.Write(ref Unsafe.AsRef<ushort>(_used + VirtqLayout.AvailEventOffset(_size)), _nextAvail);
        }
        else
        {
            _usedFlags &= unchecked((ushort)~VirtqUsedFlags.NoNotify);
            Volatile.Write(ref UsedFlagsRef, _usedFlags);
        }
        // Full barrier: the store above must be visible before we re-read avail->idx (store then
        // load), or a buffer the driver adds in between would wait for a notification it skipped.
        Interlocked.MemoryBarrier();
        return RefreshAvailIdx();
    }

    /// <summary>The buffers of the chain popped last, if <paramref name="generation"/> is still current.</summary>
    internal ReadOnlySpan<VirtqBuffer> GetChainBuffers(int count, uint generation)
    {
        if (generation != _generation)
            throw new InvalidOperationException("this descriptor chain is stale: the queue popped another chain or was reset since");
        return new ReadOnlySpan<VirtqBuffer>(_chain, 0, count);
    }

    private ref ushort UsedFlagsRef => ref Unsafe.AsRef<ushort>(_used);

    private ref ushort UsedIdxRef => ref Unsafe.AsRef<ushort>(_used + UsedIdxOffset);

    /// <summary>Reads avail->idx, validates it, and returns whether chains are pending.</summary>
    private bool RefreshAvailIdx()
    {
        // Acquire: the ring entries and descriptors the driver wrote before publishing idx are read
        // only after this load.
        ushort idx = Volatile.Read(ref Unsafe.AsRef<ushort>(_avail + AvailIdxOffset));
        // Invariant: the driver can be at most one full ring ahead of what the device consumed.
        if ((ushort)(idx - _nextAvail) > _size)
            return Fail(VirtqueueError.AvailIndexTooFarAhead);
        _availIdxShadow = idx;
        return idx != _nextAvail;
    }

    /// <summary>
    /// Walks the chain from <paramref name="head"/>, copying each descriptor once and validating the
    /// copy, into <see cref="_chain"/>. On a violation it records the error and returns false.
    /// </summary>
    private bool TryWalkChain(ushort head, out int count, out ulong readable, out ulong writable)
    {
        count = 0;
        readable = 0;
        writable = 0;
        uint index = head;
        while (true)
        {
            // Invariant: index < _size, so the 16 bytes read lie inside the table validated at setup.
            VirtqDesc desc = Unsafe.ReadUnaligned<VirtqDesc>(_desc + 16u * index);
            if ((desc.Flags & VirtqDescFlags.Indirect) != 0)
                return WalkIndirectTable(in desc, ref count, ref readable, ref writable);
            if (!TryAppend(in desc, _size, ref count, ref readable, ref writable))
                return false;
            if ((desc.Flags & VirtqDescFlags.Next) == 0)
                return true;
            index = desc.Next;
            if (index >= (uint)_size)
                return Fail(VirtqueueError.NextOutOfRange);
        }
    }

    /// <summary>
    /// Checks one descriptor (the chain stays within <paramref name="limit"/> buffers, which catches
    /// loops; the buffer inside guest memory) and appends it to the chain.
    /// </summary>
    private bool TryAppend(in VirtqDesc desc, int limit, ref int count, ref ulong readable, ref ulong writable)
    {
        if (count >= limit)
            return Fail(VirtqueueError.ChainTooLong);
        if (!Memory.IsValid(desc.Addr, desc.Len))
            return Fail(VirtqueueError.DescriptorOutsideMemory);
        bool isWrite = (desc.Flags & VirtqDescFlags.Write) != 0;
        _chain[count++] = new VirtqBuffer(desc.Addr, desc.Len, isWrite);
        if (isWrite)
            writable += desc.Len;
        else
            readable += desc.Len;
        return true;
    }

    /// <summary>
    /// Appends the entries of the indirect table <paramref name="indirect"/> points at. The table is
    /// the chain's last element (INDIRECT excludes NEXT) and may not itself hold an indirect descriptor.
    /// </summary>
    private bool WalkIndirectTable(in VirtqDesc indirect, ref int count, ref ulong readable, ref ulong writable)
    {
        if (!IndirectDescriptors)
            return Fail(VirtqueueError.IndirectNotNegotiated);
        if ((indirect.Flags & VirtqDescFlags.Next) != 0)
            return Fail(VirtqueueError.IndirectWithNext);
        uint tableLength = indirect.Len / VirtqDesc.Size;
        if (indirect.Len == 0 || indirect.Len % VirtqDesc.Size != 0 || tableLength > MaxIndirectTableEntries)
            return Fail(VirtqueueError.IndirectTableLength);
        // Invariant: each table entry is visited at most once on a loop-free walk, so a walk longer
        // than the table is a loop; the chain array has room for count (< queue size) + the table.
        int limit = count + (int)tableLength;
        if (!Memory.TryGetSpan(indirect.Addr, indirect.Len, out Span<byte> table))
            return Fail(VirtqueueError.DescriptorOutsideMemory);

        uint index = 0;
        while (true)
        {
            // Invariant: index < tableLength, so the entry lies inside the validated table span.
            VirtqDesc desc = MemoryMarshal.Read<VirtqDesc>(table.Slice((int)(index * VirtqDesc.Size), VirtqDesc.Size));
            if ((desc.Flags & VirtqDescFlags.Indirect) != 0)
                return Fail(VirtqueueError.NestedIndirect);
            if (!TryAppend(in desc, limit, ref count, ref readable, ref writable))
                return false;
            if ((desc.Flags & VirtqDescFlags.Next) == 0)
                return true;
            index = desc.Next;
            if (index >= tableLength)
                return Fail(VirtqueueError.NextOutOfRange);
        }
    }

    private bool TryGetArea(ulong address, ulong length, out byte* pointer)
    {
        if (!Memory.TryGetSpan(address, length, out Span<byte> span))
        {
            pointer = null;
            return false;
        }
        // Guest memory is outside the GC heap (mmap): the pointer stays valid until the memory is disposed.
        pointer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
        return true;
    }

    private bool Fail(VirtqueueError error)
    {
        _error = error;
        return false;
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowAddUsed(ushort head)
    {
        if (_used == null)
            throw new InvalidOperationException("the queue is not set up");
        throw new ArgumentOutOfRangeException(nameof(head), head, $"a head index is below the queue size {_size}");
    }
}
