namespace Internal.Runtime;

/// <summary>
/// The guest heap: a bump allocator over <c>StartInfo.HeapStart</c> .. <c>+HeapSize</c>. Objects
/// are never freed (a guest has no GC). Running out stops the VM with a fail-fast reason.
/// </summary>
public static unsafe class BumpAllocator
{
    private static ulong s_next;
    private static ulong s_end;

    /// <summary>Bytes handed out so far.</summary>
    public static ulong Used { get; private set; }

    /// <summary>Bytes still free.</summary>
    public static ulong Free => s_end - s_next;

    /// <summary>Sets the heap to [<paramref name="start"/>, <paramref name="start"/> + <paramref name="size"/>).</summary>
    public static void Initialize(ulong start, ulong size)
    {
        s_next = (start + 15) & ~15UL;
        s_end = start + size;
        if (s_next > s_end)
            s_next = s_end;
        Used = 0;
    }

    /// <summary>
    /// Takes <paramref name="pages"/> 4 KiB pages off the top of the heap for the caller to manage
    /// (the SDK's frame allocator); returns the first page's address, or 0 if the heap has fewer
    /// free pages. The heap ends below them from now on.
    /// </summary>
    public static ulong ReserveTopPages(ulong pages)
    {
        ulong top = s_end & ~0xFFFUL;
        if (pages == 0 || pages > top / 4096)
            return 0;
        ulong start = top - pages * 4096;
        if (start < s_next)
            return 0;
        s_end = start;
        return start;
    }

    /// <summary>Allocates <paramref name="size"/> zeroed bytes, 16-byte aligned; fails fast when the heap is exhausted.</summary>
    public static void* Allocate(ulong size)
    {
        ulong rounded = (size + 15) & ~15UL;
        if (rounded < size || rounded > s_end - s_next)
            GuestFailFast.Fail(s_end == 0 ? "allocation before the heap was set up (no heap)" : "out of heap memory (the bump allocator never frees)");
        byte* result = (byte*)s_next;
        s_next += rounded;
        Used += rounded;
        // Guest RAM handed over by the loader is zero, and nothing is ever freed, so the bytes are
        // still zero: no clearing needed.
        return result;
    }
}
