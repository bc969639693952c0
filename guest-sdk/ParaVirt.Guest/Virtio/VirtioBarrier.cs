using System.Runtime.CompilerServices;

namespace ParaVirt.Guest.Virtio;

/// <summary>
/// The memory barriers of the virtio driver. On x86-64 (TSO) stores are not reordered with other
/// stores and loads not with other loads, so the write barrier before publishing
/// <c>avail-&gt;idx</c> and the read barrier after reading <c>used-&gt;idx</c> only have to stop the
/// compiler (Linux's <c>virt_wmb()</c>/<c>virt_rmb()</c> are <c>barrier()</c> on x86 too). An opaque
/// call is that compiler barrier: the compiler must assume it reads and writes any memory, so it
/// neither moves ring accesses across it nor keeps <c>used-&gt;idx</c> in a register.
/// </summary>
/// <remarks>
/// The store-to-load barrier (<c>virt_mb()</c>) that notification suppression needs is not
/// provided: the drivers always notify after publishing, which the spec allows.
/// </remarks>
/// <example><code>
/// ring[avail % size] = head;
/// VirtioBarrier.Write();   // entries before the index
/// availIdx = avail + 1;
/// </code></example>
public static class VirtioBarrier
{
    /// <summary>Orders earlier stores before later stores (the compiler may not move them across).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Write() { }

    /// <summary>Orders earlier loads before later loads and forces the next load to read memory.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Read() { }
}
