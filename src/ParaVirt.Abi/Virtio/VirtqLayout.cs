namespace ParaVirt.Abi.Virtio;

/// <summary>
/// Sizes, offsets and alignments of the three split-ring areas, and the <c>vring_need_event</c>
/// test (virtio 1.x, 2.7). Plain arithmetic: compiled into guest images as well as the host.
/// </summary>
/// <example>
/// <code>
/// ulong desc = base;                                              // 16-byte aligned
/// ulong avail = desc + VirtqLayout.DescTableSize(256);
/// ulong used = VirtqLayout.AlignUp(avail + VirtqLayout.AvailRingSize(256), VirtqLayout.UsedAlign);
/// </code>
/// </example>
public static class VirtqLayout
{
    /// <summary>The largest queue size (2^15).</summary>
    public const uint MaxQueueSize = 32768;

    /// <summary>Required alignment of the descriptor table.</summary>
    public const ulong DescAlign = 16;

    /// <summary>Required alignment of the available ring.</summary>
    public const ulong AvailAlign = 2;

    /// <summary>Required alignment of the used ring.</summary>
    public const ulong UsedAlign = 4;

    /// <summary>Offset of <c>ring[0]</c> in either ring (after <c>flags</c> and <c>idx</c>).</summary>
    public const ulong RingOffset = 4;

    /// <summary>Whether <paramref name="size"/> is a valid queue size: a power of two from 1 to <see cref="MaxQueueSize"/>.</summary>
    public static bool IsValidQueueSize(uint size) => size != 0 && size <= MaxQueueSize && (size & (size - 1)) == 0;

    /// <summary>Bytes of the descriptor table: <c>16 * size</c>.</summary>
    public static ulong DescTableSize(uint size) => 16UL * size;

    /// <summary>Bytes of the available ring including <c>used_event</c>: <c>6 + 2 * size</c>.</summary>
    public static ulong AvailRingSize(uint size) => 6 + 2UL * size;

    /// <summary>Bytes of the used ring including <c>avail_event</c>: <c>6 + 8 * size</c>.</summary>
    public static ulong UsedRingSize(uint size) => 6 + 8UL * size;

    /// <summary>Offset of <c>avail.ring[index]</c> from the start of the available ring.</summary>
    public static ulong AvailEntryOffset(uint index) => RingOffset + 2UL * index;

    /// <summary>Offset of <c>used.ring[index]</c> from the start of the used ring.</summary>
    public static ulong UsedEntryOffset(uint index) => RingOffset + 8UL * index;

    /// <summary>Offset of <c>used_event</c> (the last field of the available ring).</summary>
    public static ulong UsedEventOffset(uint size) => RingOffset + 2UL * size;

    /// <summary>Offset of <c>avail_event</c> (the last field of the used ring).</summary>
    public static ulong AvailEventOffset(uint size) => RingOffset + 8UL * size;

    /// <summary>Rounds <paramref name="value"/> up to <paramref name="alignment"/> (a power of two).</summary>
    public static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);

    /// <summary>
    /// <c>vring_need_event(event_idx, new_idx, old_idx)</c>: whether the other side asked to be
    /// notified when the index moved from <paramref name="oldIdx"/> to <paramref name="newIdx"/>,
    /// that is, whether <paramref name="eventIdx"/> lies in [old, new) modulo 2^16.
    /// </summary>
    /// <remarks>Exactly the spec's <c>(u16)(new_idx - event_idx - 1) &lt; (u16)(new_idx - old)</c>.</remarks>
    public static bool NeedEvent(ushort eventIdx, ushort newIdx, ushort oldIdx) =>
        (ushort)(newIdx - eventIdx - 1) < (ushort)(newIdx - oldIdx);
}
