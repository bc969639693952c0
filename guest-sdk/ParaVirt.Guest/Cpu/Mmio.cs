using System.Runtime.CompilerServices;

namespace ParaVirt.Guest;

/// <summary>
/// Loads and stores to device registers in the platform's MMIO window (guest-physical
/// 0xC0000000-0xFFFFFFFF, mapped user read-write and uncached, no memory behind it: every access
/// exits to the host's MMIO bus). The same in both flavours: an MMIO access is an ordinary
/// <c>mov</c> at CPL3, not a privileged instruction. Linux's <c>readl</c>/<c>writel</c>.
/// </summary>
/// <remarks>
/// Each method is one access of exactly its width, never merged, split, repeated or removed: the
/// methods are not inlined, so the compiler treats each call as an opaque operation on memory (the
/// guest runtime has no <c>Volatile</c>; this is the same compiler barrier as
/// <see cref="Virtio.VirtioBarrier"/>). On x86-64 an uncached store is ordered after every earlier
/// store, so a doorbell write made after filling a queue entry in RAM reaches the device after
/// the entry (Linux's <c>writel</c> needs no extra fence on x86 either).
/// </remarks>
/// <example><code>
/// ulong cap = Mmio.Read64(bar + 0x00);          // one exit
/// Mmio.Write32(bar + 0x1000 + 8, tail);         // a doorbell: one exit
/// </code></example>
public static unsafe class Mmio
{
    /// <summary>Reads 32 bits at <paramref name="address"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static uint Read32(ulong address) => *(uint*)address;

    /// <summary>Reads 64 bits at <paramref name="address"/> (one access).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong Read64(ulong address) => *(ulong*)address;

    /// <summary>Writes 32 bits at <paramref name="address"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Write32(ulong address, uint value) => *(uint*)address = value;

    /// <summary>Writes 64 bits at <paramref name="address"/> (one access).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Write64(ulong address, ulong value) => *(ulong*)address = value;

    /// <summary>
    /// A compiler barrier for memory shared with a device (queue entries in RAM): loads and stores
    /// are not moved across it, and a value polled in a loop is read again after it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Barrier() { }
}
