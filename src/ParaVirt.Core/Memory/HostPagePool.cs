using System;
using ParaVirt.Core.Engine;

namespace ParaVirt.Core.Memory;

/// <summary>
/// Hands out the 4 KiB pages of a VM's host-private memory (<see cref="IHostPrivateMemory"/>):
/// page tables the hardware walks and the guest can neither see nor map. A stack of free page
/// indices preallocated at construction: <see cref="TryAllocate"/> and <see cref="Free"/> allocate
/// nothing and take constant time. Pages are zeroed when allocated. Not thread-safe: used on the
/// vCPU thread.
/// </summary>
/// <example><code>
/// var pool = new HostPagePool(vm.GetVmFeature&lt;IHostPrivateMemory&gt;()!.PrivateMemory!);
/// if (!pool.TryAllocate(out ulong page)) return Status.OutOfMemory;   // bounded: never grows
/// ...
/// pool.Free(page);
/// </code></example>
public sealed class HostPagePool
{
    /// <summary>The page size.</summary>
    public const ulong PageSize = 4096;

    private readonly GuestMemory _memory;
    private readonly ulong _base;
    private readonly int[] _free;
    private readonly bool[] _allocated;
    private int _freeCount;

    /// <summary>A pool over every page of <paramref name="memory"/>'s first region.</summary>
    public HostPagePool(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (memory.Regions.Length != 1)
            throw new ArgumentException("the private memory is one region", nameof(memory));
        GuestRegion region = memory.Regions[0];
        if (region.GuestAddress % PageSize != 0 || region.Size % PageSize != 0 || region.Size / PageSize > int.MaxValue)
            throw new ArgumentException("the private memory is not whole pages", nameof(memory));
        _memory = memory;
        _base = region.GuestAddress;
        int pages = (int)(region.Size / PageSize);
        _free = new int[pages];
        _allocated = new bool[pages];
        // Lowest addresses first out of the stack.
        for (int i = 0; i < pages; i++)
            _free[i] = pages - 1 - i;
        _freeCount = pages;
    }

    /// <summary>The memory the pages are in (host access to the tables).</summary>
    public GuestMemory Memory => _memory;

    /// <summary>Guest-physical address of the first page.</summary>
    public ulong Base => _base;

    /// <summary>Pages in the pool.</summary>
    public int Capacity => _free.Length;

    /// <summary>Pages not handed out.</summary>
    public int FreePages => _freeCount;

    /// <summary>Whether <paramref name="address"/> is inside the pool (any byte of it).</summary>
    public bool Contains(ulong address) => address >= _base && address - _base < (ulong)_free.Length * PageSize;

    /// <summary>Takes a zeroed page; false when the pool is exhausted (the caller returns a status, nothing grows).</summary>
    public bool TryAllocate(out ulong address)
    {
        if (_freeCount == 0)
        {
            address = 0;
            return false;
        }
        int index = _free[--_freeCount];
        _allocated[index] = true;
        address = _base + (ulong)index * PageSize;
        if (!_memory.TryFill(address, PageSize, 0))
            throw new InvalidOperationException("the private memory was released");
        return true;
    }

    /// <summary>Gives a page back. Throws for an address that is not an allocated page of this pool (a host bug, never guest input).</summary>
    public void Free(ulong address)
    {
        if (!Contains(address) || (address - _base) % PageSize != 0)
            throw new ArgumentOutOfRangeException(nameof(address), address, "not a page of this pool");
        int index = (int)((address - _base) / PageSize);
        if (!_allocated[index])
            throw new InvalidOperationException($"page 0x{address:x} is freed twice");
        _allocated[index] = false;
        _free[_freeCount++] = index;
    }
}
