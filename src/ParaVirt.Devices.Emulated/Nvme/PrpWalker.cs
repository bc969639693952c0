using System;
using ParaVirt.Abi.Nvme;
using ParaVirt.Core.Memory;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>One piece of a command's data buffer in guest memory, already checked to lie inside one region.</summary>
internal readonly record struct PrpSegment(ulong Address, uint Length);

/// <summary>
/// Turns a command's PRP entries (NVMe 1.4, §4.3) into the guest ranges of its data buffer, with
/// the page size fixed at 4 KiB (CC.MPS = 0):
/// <list type="bullet">
/// <item>PRP1 is the first page, with a dword-aligned offset; a transfer that fits the rest of that page ends there;</item>
/// <item>a transfer that spans exactly two pages has the second page, page aligned, in PRP2;</item>
/// <item>a longer one has a PRP list pointer in PRP2 (qword aligned, any offset): page-aligned
/// entries, the last entry of a list page pointing to the next list page (page aligned) while more
/// than one page remains.</item>
/// </list>
/// Every entry is read once from guest memory and checked before it is used; every range is
/// checked to lie inside guest memory (overflow-safe, through <see cref="GuestMemory.IsValid"/>).
/// The segments live in an array allocated once: walking allocates nothing.
/// </summary>
/// <remarks>
/// Bounded work: the transfer is at most <see cref="MaxTransferBytes"/>, so a walk reads at most
/// <see cref="MaxPages"/> data entries and follows at most as many list pointers, whatever the lists
/// contain (a list that points back at itself still runs out of pages to describe).
/// </remarks>
internal sealed class PrpWalker
{
    /// <summary>Page size (CC.MPS = 0).</summary>
    public const ulong PageSize = NvmeRegisters.PageSize;

    /// <summary>The largest transfer of one command: 2^MDTS pages (MDTS = 5: 128 KiB).</summary>
    public const uint MaxTransferBytes = 32 * (uint)PageSize;

    /// <summary>MDTS as Identify Controller reports it.</summary>
    public const byte MaxTransferExponent = 5;

    /// <summary>Pages one transfer can touch: a buffer that starts inside a page reaches one page more.</summary>
    public const int MaxPages = (int)(MaxTransferBytes / PageSize) + 1;

    private const ulong PageMask = PageSize - 1;

    private readonly GuestMemory _memory;
    private readonly PrpSegment[] _segments = new PrpSegment[MaxPages];
    private int _count;

    public PrpWalker(GuestMemory memory) => _memory = memory;

    /// <summary>The segments of the last successful <see cref="Walk"/>, in transfer order.</summary>
    public ReadOnlySpan<PrpSegment> Segments => _segments.AsSpan(0, _count);

    /// <summary>
    /// Describes <paramref name="length"/> bytes (1 to <see cref="MaxTransferBytes"/>) from
    /// <paramref name="prp1"/>/<paramref name="prp2"/>. Returns <see cref="NvmeStatus.Success"/>,
    /// <see cref="NvmeStatus.PrpOffsetInvalid"/> (a misaligned entry or list pointer), or
    /// <see cref="NvmeStatus.DataTransferError"/> (a range or a list outside guest memory).
    /// </summary>
    public ushort Walk(ulong prp1, ulong prp2, uint length)
    {
        _count = 0;
        if (length == 0 || length > MaxTransferBytes)
            return NvmeStatus.InvalidField;
        if ((prp1 & 3) != 0)
            return NvmeStatus.PrpOffsetInvalid;
        uint first = (uint)Math.Min(length, PageSize - (prp1 & PageMask));
        if (!Add(prp1, first))
            return NvmeStatus.DataTransferError;
        uint remaining = length - first;
        if (remaining == 0)
            return NvmeStatus.Success;
        if (remaining <= PageSize)
        {
            if ((prp2 & PageMask) != 0)
                return NvmeStatus.PrpOffsetInvalid;
            return Add(prp2, remaining) ? NvmeStatus.Success : NvmeStatus.DataTransferError;
        }
        return WalkList(prp2, remaining);
    }

    private ushort WalkList(ulong list, uint remaining)
    {
        if ((list & 7) != 0)
            return NvmeStatus.PrpOffsetInvalid;
        // Invariant: each iteration either adds a data page (remaining falls by up to a page) or
        // follows a list pointer, which only happens at the last slot of a list page with more than
        // one page left: at most MaxPages of each, so the loop ends whatever the guest wrote.
        while (remaining > 0)
        {
            bool lastSlotOfPage = (list & PageMask) == PageSize - 8;
            if (!_memory.TryRead(list, out ulong entry))
                return NvmeStatus.DataTransferError;
            if ((entry & PageMask) != 0)
                return NvmeStatus.PrpOffsetInvalid;
            if (lastSlotOfPage && remaining > PageSize)
            {
                list = entry; // the next list page
                continue;
            }
            uint take = (uint)Math.Min(remaining, PageSize);
            if (!Add(entry, take))
                return NvmeStatus.DataTransferError;
            remaining -= take;
            list += 8; // cannot wrap: list + 8 <= the end of the page just read
        }
        return NvmeStatus.Success;
    }

    private bool Add(ulong address, uint length)
    {
        if (_count == _segments.Length || !_memory.IsValid(address, length))
            return false;
        _segments[_count++] = new PrpSegment(address, length);
        return true;
    }
}
