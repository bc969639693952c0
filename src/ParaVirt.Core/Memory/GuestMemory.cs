using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace ParaVirt.Core.Memory;

/// <summary>
/// Guest-physical memory: one or more regions of host memory outside the GC heap. Every host
/// access made on a guest-supplied address and length goes through a bounds- and overflow-checked
/// method here that returns <c>false</c> rather than touch host memory outside the guest.
/// </summary>
/// <example>
/// <code>
/// using var memory = GuestMemory.Create(16 * 1024 * 1024);      // 16 MiB at guest address 0
/// memory.TryWrite(0x1000, 42UL);                                 // host writes a value
/// if (!memory.TryGetSpan(guestAddress, guestLength, out Span&lt;byte&gt; buffer))
///     return HypercallStatus.BadAddress;                         // a hostile length is refused
/// </code>
/// </example>
/// <remarks>
/// <para>An access must lie inside one region: like vm-memory's <c>get_slice</c>, an access that
/// straddles two regions is refused even if they are adjacent. Methods are thread-safe with
/// respect to each other; after <see cref="Dispose"/> every access fails.</para>
/// <para>Lifetime invariant: the host mapping is unmapped only while no lease is held. A lease
/// (<see cref="TryAcquire"/>/<see cref="Release"/>, or <see cref="Lease"/>) is two interlocked
/// operations and no allocation. The copy methods (<see cref="TryRead(ulong, Span{byte})"/>,
/// <see cref="TryWrite(ulong, ReadOnlySpan{byte})"/>, their typed forms, <see cref="TryFill"/>) hold one
/// for the copy. A span from <see cref="TryGetSpan"/>, or a pointer cached from one (the virtqueue's
/// rings), is only dereferenced under a lease, with one exception: the vCPU thread of a running VM,
/// because the VM releases its memory only after its run loop has ended. <see cref="Dispose"/> marks
/// the memory closed (no new lease is granted), waits up to <see cref="DefaultLeaseTimeout"/> for
/// the outstanding leases, then unmaps. If the wait times out, the mapping is left in place and the
/// last lease released unmaps it: memory is never unmapped under a user.</para>
/// </remarks>
public sealed unsafe class GuestMemory : IDisposable
{
    private readonly AnonymousMapping[] _mappings;
    private readonly GuestRegion[] _regions;
    // A view shares its owner's mappings: it is usable exactly as long as the owner is.
    private readonly GuestMemory? _owner;
    private int _disposed;

    // The owner's lease state (views use their owner's): bit 31 closed (no new lease), bit 30 the
    // unmap was deferred to the last lease, bits 0-29 the leases held (plus, for an instant, a
    // refused TryAcquire's increment). _unmapped makes the unmap happen exactly once.
    private const int ClosedBit = int.MinValue, DeferredBit = 1 << 30, CountMask = DeferredBit - 1;
    private int _leases;
    private int _unmapped;

    /// <summary>How long <see cref="Dispose"/> waits for outstanding leases before it defers the unmap to the last one (5 s).</summary>
    public static readonly TimeSpan DefaultLeaseTimeout = TimeSpan.FromSeconds(5);

    private GuestMemory(AnonymousMapping[] mappings, GuestRegion[] regions, GuestMemory? owner = null)
    {
        _mappings = mappings;
        _regions = regions;
        _owner = owner;
        foreach (GuestRegion region in regions)
            Size += region.Size;
    }

    /// <summary>
    /// A view of this memory that admits only <paramref name="ranges"/> (each inside one region).
    /// The VM hands devices and hypercall handlers such a view, so that a guest-supplied address in
    /// the platform's own pages (page tables, IDT, ring-0 stack) is refused like one outside RAM.
    /// The view owns nothing: it stops working when this memory is disposed.
    /// </summary>
    public GuestMemory Restrict(IReadOnlyList<(ulong GuestAddress, ulong Size)> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var regions = new GuestRegion[ranges.Count];
        for (int i = 0; i < ranges.Count; i++)
        {
            (ulong address, ulong size) = ranges[i];
            byte* host = Translate(address, size);
            if (host == null || size == 0)
                throw new ArgumentException($"range 0x{address:x}+0x{size:x} is not inside one region of this memory", nameof(ranges));
            regions[i] = new GuestRegion(address, size, (nint)host);
        }
        Array.Sort(regions, (a, b) => a.GuestAddress.CompareTo(b.GuestAddress));
        for (int i = 1; i < regions.Length; i++)
            if (regions[i - 1].End > regions[i].GuestAddress)
                throw new ArgumentException("the ranges of a view overlap", nameof(ranges));
        return new GuestMemory([], regions, _owner ?? this);
    }

    /// <summary>Creates guest memory of <paramref name="size"/> bytes at guest address 0.</summary>
    /// <param name="size">Bytes of RAM, a non-zero multiple of 4096.</param>
    public static GuestMemory Create(ulong size) => Create([(0UL, size)]);

    /// <summary>Creates guest memory from non-overlapping (address, size) ranges, each page aligned.</summary>
    public static GuestMemory Create(IReadOnlyList<(ulong GuestAddress, ulong Size)> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        if (ranges.Count == 0)
            throw new ArgumentException("at least one region is required", nameof(ranges));
        var sorted = new List<(ulong GuestAddress, ulong Size)>(ranges);
        sorted.Sort((a, b) => a.GuestAddress.CompareTo(b.GuestAddress));
        for (int i = 0; i < sorted.Count; i++)
        {
            (ulong address, ulong size) = sorted[i];
            if (address % 4096 != 0 || size == 0 || size % 4096 != 0)
                throw new ArgumentException($"region 0x{address:x}+0x{size:x} is not page aligned or empty", nameof(ranges));
            if (address + size < address)
                throw new ArgumentException($"region 0x{address:x}+0x{size:x} wraps around", nameof(ranges));
            if (i > 0 && sorted[i - 1].GuestAddress + sorted[i - 1].Size > address)
                throw new ArgumentException($"region 0x{address:x} overlaps its neighbour", nameof(ranges));
        }

        var mappings = new AnonymousMapping[sorted.Count];
        var regions = new GuestRegion[sorted.Count];
        try
        {
            for (int i = 0; i < sorted.Count; i++)
            {
                mappings[i] = new AnonymousMapping(sorted[i].Size);
                regions[i] = new GuestRegion(sorted[i].GuestAddress, sorted[i].Size, (nint)mappings[i].Address);
            }
        }
        catch
        {
            foreach (AnonymousMapping? mapping in mappings)
                mapping?.Dispose();
            throw;
        }
        return new GuestMemory(mappings, regions);
    }

    /// <summary>Total bytes of guest memory.</summary>
    public ulong Size { get; }

    /// <summary>The regions, sorted by guest address.</summary>
    public ReadOnlySpan<GuestRegion> Regions => _regions;

    /// <summary>Whether [<paramref name="address"/>, <paramref name="address"/> + <paramref name="length"/>) lies inside one region.</summary>
    public bool IsValid(ulong address, ulong length) => Translate(address, length) != null;

    /// <summary>
    /// Translates a guest range to a host pointer, or returns null if the range leaves guest memory,
    /// straddles regions or overflows. A zero length is valid at any address inside a region or at its end.
    /// </summary>
    /// <remarks>
    /// The pointer is valid while the caller holds a lease (or is the vCPU thread of a running VM):
    /// see the lifetime invariant on <see cref="GuestMemory"/>.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* Translate(ulong address, ulong length)
    {
        // Invariant: for each region, offset = address - GuestAddress is computed only when
        // address >= GuestAddress, and the test "length <= Size - offset" cannot overflow.
        GuestRegion[] regions = _regions;
        for (int i = 0; i < regions.Length; i++)
        {
            ref readonly GuestRegion region = ref regions[i];
            if (address < region.GuestAddress)
                break;
            ulong offset = address - region.GuestAddress;
            if (offset <= region.Size && length <= region.Size - offset)
                return Volatile.Read(ref _disposed) == 0 && (_owner is null || Volatile.Read(ref _owner._disposed) == 0)
                    ? (byte*)region.HostAddress + offset
                    : null;
        }
        return null;
    }

    /// <summary>
    /// Takes a lease: until the matching <see cref="Release"/>, the host mapping stays in place. Returns
    /// false, taking nothing, once the memory (or this view) is closed. Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAcquire()
    {
        GuestMemory root = _owner ?? this;
        if (Volatile.Read(ref _disposed) != 0 || Volatile.Read(ref root._leases) < 0)
            return false;
        // Full barrier (interlocked): Dispose sets the closed bit and then reads the count, we add to
        // the count and then read the closed bit, so at least one of us sees the other.
        if (Interlocked.Increment(ref root._leases) < 0)
        {
            root.ReleaseCore();
            return false;
        }
        return true;
    }

    /// <summary>Gives back a lease taken with <see cref="TryAcquire"/> (exactly once per successful call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release() => (_owner ?? this).ReleaseCore();

    /// <summary>
    /// Takes a lease for a <c>using</c> block; check <see cref="GuestMemoryLease.IsHeld"/>: false once
    /// the memory is closed.
    /// </summary>
    public GuestMemoryLease Lease() => TryAcquire() ? new GuestMemoryLease(this) : default;

    /// <summary>Whether the host memory has been unmapped (after <see cref="Dispose"/> and the last lease).</summary>
    public bool IsUnmapped => Volatile.Read(ref (_owner ?? this)._unmapped) != 0;

    /// <summary>
    /// Gets a span over a guest range, or returns false if the range is not entirely guest memory.
    /// Off the vCPU thread, use the span only while holding a lease (<see cref="Lease"/>).
    /// </summary>
    public bool TryGetSpan(ulong address, ulong length, out Span<byte> span)
    {
        if (length > int.MaxValue)
        {
            span = default;
            return false;
        }
        byte* pointer = Translate(address, length);
        if (pointer == null)
        {
            span = default;
            return false;
        }
        span = new Span<byte>(pointer, (int)length);
        return true;
    }

    /// <summary>Copies guest bytes at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    public bool TryRead(ulong address, Span<byte> destination)
    {
        if (!TryAcquire())
            return false;
        try
        {
            byte* pointer = Translate(address, (ulong)destination.Length);
            if (pointer == null)
                return false;
            new ReadOnlySpan<byte>(pointer, destination.Length).CopyTo(destination);
            return true;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Copies <paramref name="source"/> into guest memory at <paramref name="address"/>.</summary>
    public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        if (!TryAcquire())
            return false;
        try
        {
            byte* pointer = Translate(address, (ulong)source.Length);
            if (pointer == null)
                return false;
            source.CopyTo(new Span<byte>(pointer, source.Length));
            return true;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Reads an unmanaged value (unaligned) at a guest address.</summary>
    public bool TryRead<T>(ulong address, out T value) where T : unmanaged
    {
        value = default;
        if (!TryAcquire())
            return false;
        try
        {
            byte* pointer = Translate(address, (ulong)sizeof(T));
            if (pointer == null)
                return false;
            value = Unsafe.ReadUnaligned<T>(pointer);
            return true;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Writes an unmanaged value (unaligned) at a guest address.</summary>
    public bool TryWrite<T>(ulong address, in T value) where T : unmanaged
    {
        if (!TryAcquire())
            return false;
        try
        {
            byte* pointer = Translate(address, (ulong)sizeof(T));
            if (pointer == null)
                return false;
            Unsafe.WriteUnaligned(pointer, value);
            return true;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Fills a guest range with <paramref name="value"/>.</summary>
    public bool TryFill(ulong address, ulong length, byte value)
    {
        if (!TryAcquire())
            return false;
        try
        {
            if (!TryGetSpan(address, length, out Span<byte> span))
                return false;
            span.Fill(value);
            return true;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>
    /// Closes the memory and releases the host mapping, waiting up to <see cref="DefaultLeaseTimeout"/>
    /// for outstanding leases (see <see cref="Close"/>). Accesses made afterwards fail. A view owns
    /// nothing: disposing one only closes the view.
    /// </summary>
    public void Dispose() => Close(DefaultLeaseTimeout);

    /// <summary>
    /// Closes the memory: no new lease is granted and every access fails from now on. Waits up to
    /// <paramref name="leaseTimeout"/> for the leases held, then unmaps. If leases are still held
    /// then, the unmap is left to the last <see cref="Release"/>: memory is never unmapped under a user.
    /// </summary>
    /// <returns>Whether the host memory is unmapped on return (always true for a view, which owns none).</returns>
    public bool Close(TimeSpan leaseTimeout)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _owner is not null)
            return _owner is not null || IsUnmapped;
        Interlocked.Or(ref _leases, ClosedBit);
        if (!SpinWait.SpinUntil(() => (Volatile.Read(ref _leases) & CountMask) == 0, leaseTimeout))
        {
            // Invariant: after DeferredBit is set, whoever brings the count to 0 (a Release, or this
            // check) unmaps; Unmap runs once whoever gets there first.
            Interlocked.Or(ref _leases, DeferredBit);
            if ((Volatile.Read(ref _leases) & CountMask) != 0)
                return false;
        }
        Unmap();
        return true;
    }

    private void ReleaseCore()
    {
        int state = Interlocked.Decrement(ref _leases);
        if ((state & (DeferredBit | CountMask)) == DeferredBit)
            Unmap(); // the last lease after Close gave up waiting
    }

    private void Unmap()
    {
        if (Interlocked.Exchange(ref _unmapped, 1) != 0)
            return;
        foreach (AnonymousMapping mapping in _mappings)
            mapping.Dispose();
    }
}
