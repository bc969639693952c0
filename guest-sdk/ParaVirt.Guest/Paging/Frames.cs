using Internal.Runtime;

namespace ParaVirt.Guest;

/// <summary>
/// The guest's frame allocator: 4 KiB frames of guest RAM for page tables and for the pages an
/// address space maps. The frames come off the top of the heap (<see cref="BumpAllocator.ReserveTopPages"/>):
/// the image sits at the bottom of RAM, the heap after it, the stack at the top (StartInfo says
/// where each ends), so the frame region is the part of the heap below the stack that
/// <see cref="Initialize"/> takes. A frame's guest-physical address is also where the guest sees
/// it: PML4 slot 0 identity-maps RAM. Freed frames go on a stack and are handed out first.
/// </summary>
/// <example><code>
/// Frames.Initialize(1024);          // 4 MiB of frames
/// ulong frame = Frames.Allocate();  // 0 when none is left
/// Frames.Free(frame);
/// </code></example>
public static unsafe class Frames
{
    private static ulong s_start, s_end, s_next;
    private static ulong* s_free;
    private static ulong s_freeCount, s_capacity;

    /// <summary>The first frame of the region (0 before <see cref="Initialize"/>).</summary>
    public static ulong RegionStart => s_start;

    /// <summary>One past the last frame of the region.</summary>
    public static ulong RegionEnd => s_end;

    /// <summary>Frames not handed out.</summary>
    public static ulong Available => (s_end - s_next) / 4096 + s_freeCount;

    /// <summary>Takes <paramref name="count"/> frames off the top of the heap; false if the heap has fewer free (or already initialized).</summary>
    public static bool Initialize(ulong count)
    {
        if (s_start != 0 || count == 0)
            return false;
        // The free stack first (from the heap), then the frames themselves.
        s_free = (ulong*)BumpAllocator.Allocate(count * 8);
        ulong start = BumpAllocator.ReserveTopPages(count);
        if (start == 0)
            return false;
        s_start = s_next = start;
        s_end = start + count * 4096;
        s_capacity = count;
        return true;
    }

    /// <summary>A zeroed frame, or 0 when none is left.</summary>
    public static ulong Allocate()
    {
        if (s_start == 0)
            Initialize(DefaultFrames());
        ulong frame;
        if (s_freeCount > 0)
            frame = s_free[--s_freeCount];
        else if (s_next < s_end)
        {
            frame = s_next;
            s_next += 4096;
        }
        else
            return 0;
        ulong* p = (ulong*)frame;
        for (int i = 0; i < 512; i++)
            p[i] = 0;
        return frame;
    }

    /// <summary>Gives a frame back (it must not be a pinned page table any more, nor mapped writable).</summary>
    public static void Free(ulong frame)
    {
        if (frame < s_start || frame >= s_end || (frame & 0xFFF) != 0 || s_freeCount == s_capacity)
            Guest.FailFast("Frames.Free: not a frame of the region");
        s_free[s_freeCount++] = frame;
    }

    /// <summary>Half of what the heap has left, at most 16 MiB.</summary>
    private static ulong DefaultFrames()
    {
        ulong half = BumpAllocator.Free / 2 / 4096;
        return half > 4096 ? 4096 : half;
    }
}
