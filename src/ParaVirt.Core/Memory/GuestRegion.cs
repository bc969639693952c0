namespace ParaVirt.Core.Memory;

/// <summary>
/// One contiguous range of guest-physical memory backed by host memory outside the GC heap.
/// </summary>
/// <param name="GuestAddress">The first guest-physical address of the region.</param>
/// <param name="Size">The size in bytes (a multiple of 4096).</param>
/// <param name="HostAddress">Where the region is mapped in the host process.</param>
public readonly record struct GuestRegion(ulong GuestAddress, ulong Size, nint HostAddress)
{
    /// <summary>One past the last guest-physical address of the region.</summary>
    public ulong End => GuestAddress + Size;
}
