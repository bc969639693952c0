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
/// The store-to-load barrier (<c>virt_mb()</c>) that notification suppression needs is
/// <see cref="Full"/>: x86 may make a later load visible before an earlier store, so publishing
/// <c>avail-&gt;idx</c> and then reading <c>avail_event</c> (or writing <c>used_event</c> and then
/// reading <c>used-&gt;idx</c>) needs a real <c>mfence</c>, an unprivileged instruction. The
/// synchronous transport does not need it: its device runs only while the vCPU is in the hypercall.
/// </remarks>
/// <example><code>
/// ring[avail % size] = head;
/// VirtioBarrier.Write();   // entries before the index
/// availIdx = avail + 1;
/// </code></example>
public static unsafe class VirtioBarrier
{
    private static delegate* unmanaged<void> s_mfence;

    /// <summary>
    /// Orders earlier stores before later loads (<c>mfence</c>, with the device thread running on
    /// another CPU): Linux's <c>virt_mb()</c>. The first call builds the two-byte stub.
    /// </summary>
    public static void Full()
    {
        if (s_mfence == null)
        {
            byte* stub = CodeBuffer.Allocate(4);
            CodeBuffer.Emit(stub, [0x0F, 0xAE, 0xF0, 0xC3]); // mfence; ret
            s_mfence = (delegate* unmanaged<void>)stub;
        }
        s_mfence();
    }

    /// <summary>Orders earlier stores before later stores (the compiler may not move them across).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Write() { }

    /// <summary>Orders earlier loads before later loads and forces the next load to read memory.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Read() { }
}
