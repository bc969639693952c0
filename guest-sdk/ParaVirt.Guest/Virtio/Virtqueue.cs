using Internal.Runtime;
using ParaVirt.Abi.Virtio;
using ParaVirt.Guest.Drivers;

namespace ParaVirt.Guest.Virtio;

/// <summary>
/// The driver side of a virtio 1.x split virtqueue, laid out with the same ABI types the device
/// side reads (<see cref="VirtqDesc"/>, <see cref="VirtqLayout"/>). The driver owns a free list of
/// descriptors, writes chains and available-ring entries, and
/// publishes <c>avail-&gt;idx</c> once per batch after a write barrier. The links of the free list are
/// kept in driver-private memory, never read back from the shared table. Completions are read by
/// polling <c>used-&gt;idx</c> (read barrier, then the entries), and every used element is checked
/// before it is trusted: the device is outside the guest's trust boundary too.
/// </summary>
/// <example><code>
/// Virtqueue q = Virtqueue.Create(128);
/// device.SetupQueue(0, q);
/// int head = q.Add(chain, 3);        // not visible to the device yet
/// q.Publish();                       // one avail->idx store for the whole batch
/// device.Notify(0);                  // one exit
/// while (q.TryTakeUsed(out uint id, out uint len) == 1) { /* id is a head from Add */ }
/// </code></example>
public sealed unsafe class Virtqueue
{
    private readonly ushort _size;
    private readonly VirtqDesc* _desc;
    private readonly byte* _avail;
    private readonly byte* _used;
    private readonly ushort* _chainLength; // per head: descriptors in its chain, 0 when not in flight
    private readonly ushort* _next;        // the driver's private copy of the links (free list and chains)
    private ushort _freeHead;
    private int _freeCount;
    private ushort _availShadow;   // next avail->idx, published by Publish
    private ushort _lastUsed;      // next used element to consume

    private Virtqueue(ushort size, byte* memory, ushort* chainLength, ushort* next)
    {
        _size = size;
        _desc = (VirtqDesc*)memory;
        _avail = memory + VirtqLayout.DescTableSize(size);
        _used = memory + VirtqLayout.AlignUp(VirtqLayout.DescTableSize(size) + VirtqLayout.AvailRingSize(size), 4);
        _chainLength = chainLength;
        _next = next;
        for (int i = 0; i < size; i++)
            _next[i] = (ushort)(i + 1);
        _freeHead = 0;
        _freeCount = size;
    }

    /// <summary>
    /// Allocates a queue of <paramref name="size"/> entries (a power of two) in one page-aligned block:
    /// descriptor table (16-aligned), available ring right after it, used ring 4-aligned after that.
    /// Returns null for an invalid size.
    /// </summary>
    public static Virtqueue Create(ushort size)
    {
        if (!VirtqLayout.IsValidQueueSize(size))
            return null;
        ulong bytes = VirtqLayout.AlignUp(VirtqLayout.DescTableSize(size) + VirtqLayout.AvailRingSize(size), 4) + VirtqLayout.UsedRingSize(size);
        byte* memory = (byte*)AllocatePages(bytes);
        ushort* chainLength = (ushort*)BumpAllocator.Allocate(2UL * size);
        ushort* next = (ushort*)BumpAllocator.Allocate(2UL * size);
        return new Virtqueue(size, memory, chainLength, next);
    }

    /// <summary>Allocates <paramref name="bytes"/> zeroed bytes on a page boundary (DMA-style buffers and rings).</summary>
    public static void* AllocatePages(ulong bytes)
    {
        ulong raw = (ulong)BumpAllocator.Allocate(bytes + 4095);
        return (void*)((raw + 4095) & ~4095UL);
    }

    /// <summary>The number of entries.</summary>
    public ushort Size => _size;

    /// <summary>Free descriptors.</summary>
    public int FreeDescriptors => _freeCount;

    /// <summary>Guest address of the descriptor table.</summary>
    public ulong DescriptorTableAddress => (ulong)_desc;

    /// <summary>Guest address of the available ring.</summary>
    public ulong AvailableRingAddress => (ulong)_avail;

    /// <summary>Guest address of the used ring.</summary>
    public ulong UsedRingAddress => (ulong)_used;

    /// <summary>The descriptor table (for diagnostics and for tests of hostile drivers).</summary>
    public VirtqDesc* Descriptors => _desc;

    /// <summary><c>avail-&gt;idx</c> as the device sees it (for tests of hostile drivers).</summary>
    public ushort* AvailableIndex => (ushort*)(_avail + 2);

    /// <summary>Entry <paramref name="slot"/> of the available ring (for tests of hostile drivers).</summary>
    public ushort* AvailableEntry(uint slot) => (ushort*)(_avail + VirtqLayout.AvailEntryOffset(slot % _size));

    /// <summary>The next used element the driver will consume (free-running).</summary>
    public ushort LastUsed => _lastUsed;

    /// <summary>Used elements the device has published and the driver not yet taken (reads <c>used-&gt;idx</c>).</summary>
    public int PendingUsed
    {
        get
        {
            VirtioBarrier.Read(); // read used->idx from memory, not from a register
            return (ushort)(*(ushort*)(_used + 2) - _lastUsed);
        }
    }

    /// <summary>
    /// Sets <c>used_event</c> (EVENT_IDX): the device raises its event once <c>used-&gt;idx</c> passes
    /// <paramref name="value"/>. The caller follows it with <see cref="VirtioBarrier.Full"/> before
    /// it re-reads <c>used-&gt;idx</c>.
    /// </summary>
    public void SetUsedEvent(ushort value)
    {
        *(ushort*)(_avail + VirtqLayout.UsedEventOffset(_size)) = value;
        VirtioBarrier.Write();
    }

    /// <summary>Sets or clears <c>VIRTQ_AVAIL_F_NO_INTERRUPT</c> (without EVENT_IDX).</summary>
    public void SetNoInterrupt(bool value)
    {
        *(ushort*)_avail = value ? VirtqAvailFlags.NoInterrupt : (ushort)0;
        VirtioBarrier.Write();
    }

    /// <summary>
    /// After a <see cref="Publish"/> of <paramref name="published"/> chains, whether the device asked
    /// to be notified (spec 2.7.10): with EVENT_IDX <c>vring_need_event(avail_event, new, old)</c>,
    /// otherwise <c>!(used-&gt;flags &amp; VIRTQ_USED_F_NO_NOTIFY)</c>. Issues the full barrier between
    /// the <c>avail-&gt;idx</c> store and the read of the device's field itself.
    /// </summary>
    public bool DeviceWantsNotification(int published, bool eventIdx)
    {
        VirtioBarrier.Full();
        if (eventIdx)
        {
            ushort availEvent = *(ushort*)(_used + VirtqLayout.AvailEventOffset(_size));
            ushort newIdx = _availShadow;
            return VirtqLayout.NeedEvent(availEvent, newIdx, (ushort)(newIdx - published));
        }
        return (*(ushort*)_used & VirtqUsedFlags.NoNotify) == 0;
    }

    /// <summary>Chains added but not yet published.</summary>
    public int Unpublished => (ushort)(_availShadow - *(ushort*)(_avail + 2));

    /// <summary>
    /// Writes a chain of <paramref name="count"/> buffers (device-readable ones must come first) and
    /// its available-ring entry. The device does not see it until <see cref="Publish"/>.
    /// Returns the head descriptor index, or <see cref="DriverStatus.QueueFull"/> /
    /// <see cref="DriverStatus.BadArgument"/>.
    /// </summary>
    public int Add(VirtqBuffer* buffers, int count)
    {
        if (count <= 0 || count > _size)
            return DriverStatus.BadArgument;
        if (count > _freeCount)
            return DriverStatus.QueueFull;
        ushort head = _freeHead;
        ushort index = head;
        for (int i = 0; i < count; i++)
        {
            VirtqDesc* d = _desc + index;
            ushort next = _next[index];
            d->Addr = buffers[i].Address;
            d->Len = buffers[i].Length;
            ushort flags = buffers[i].DeviceWrites ? VirtqDescFlags.Write : (ushort)0;
            if (i + 1 < count)
            {
                flags |= VirtqDescFlags.Next;
                d->Next = next;
                index = next;
            }
            else
            {
                _freeHead = next;
            }
            d->Flags = flags;
        }
        _freeCount -= count;
        _chainLength[head] = (ushort)count;
        *(ushort*)(_avail + VirtqLayout.AvailEntryOffset((uint)(_availShadow % _size))) = head;
        _availShadow++;
        return head;
    }

    /// <summary>
    /// Makes every chain added since the last call visible to the device: a write barrier (the
    /// descriptors and ring entries before the index), then one store of <c>avail-&gt;idx</c>.
    /// Returns the number of chains published.
    /// </summary>
    public int Publish()
    {
        ushort* idx = (ushort*)(_avail + 2);
        int published = (ushort)(_availShadow - *idx);
        VirtioBarrier.Write();
        *idx = _availShadow;
        VirtioBarrier.Write();
        return published;
    }

    /// <summary>
    /// Takes the next used element: 1 and its head <paramref name="id"/> and length when one is
    /// there, 0 when none, <see cref="DriverStatus.BadRing"/> when the device wrote nonsense (an id
    /// out of range or not in flight, or <c>used-&gt;idx</c> more than the queue size ahead).
    /// Frees the chain's descriptors.
    /// </summary>
    public int TryTakeUsed(out uint id, out uint length)
    {
        id = 0;
        length = 0;
        VirtioBarrier.Read();
        ushort usedIdx = *(ushort*)(_used + 2);
        if (usedIdx == _lastUsed)
            return 0;
        if ((ushort)(usedIdx - _lastUsed) > _size)
            return DriverStatus.BadRing;
        VirtioBarrier.Read(); // the index before the entry it publishes
        VirtqUsedElem* elem = (VirtqUsedElem*)(_used + VirtqLayout.UsedEntryOffset((uint)(_lastUsed % _size)));
        uint head = elem->Id;
        uint len = elem->Len;
        if (head >= _size || _chainLength[head] == 0)
            return DriverStatus.BadRing;
        _lastUsed++;
        FreeChain((ushort)head);
        id = head;
        length = len;
        return 1;
    }

    private void FreeChain(ushort head)
    {
        int count = _chainLength[head];
        _chainLength[head] = 0;
        ushort last = head;
        for (int i = 1; i < count; i++)
            last = _next[last];
        _next[last] = _freeHead;
        _freeHead = head;
        _freeCount += count;
    }
}
