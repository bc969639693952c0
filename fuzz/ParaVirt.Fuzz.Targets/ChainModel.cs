using System;
using System.Collections.Generic;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// The oracle's own, independent reading of virtio-blk request chains (virtio 1.x 2.7.5, 2.7.7,
/// 5.2.6): follows NEXT links and indirect tables from a head with loop bounds, records which guest
/// memory a chain lets the device read (descriptor tables, readable buffers) and write (writable
/// buffers), and gives the sectors an OUT request may write: [sector, sector + ceil(data / 512)).
/// It over-approximates on purpose (a request the device rejects still counts): it only has to say
/// which sectors no request may touch.
/// </summary>
internal sealed class ChainModel
{
    private readonly List<(ulong Start, ulong End)> _reads = new();
    private readonly List<(ulong Start, ulong End)> _writes = new();
    private (ulong Start, ulong End) _used;

    /// <summary>Sector ranges [Start, End) the OUT requests walked so far may write.</summary>
    public List<(ulong Start, ulong End)> OutRanges { get; } = new();

    /// <summary>Forgets every chain.</summary>
    public void Clear()
    {
        _reads.Clear();
        _writes.Clear();
        OutRanges.Clear();
        _used = default;
    }

    /// <summary>Memory the device reads to find and parse requests (rings, tables) besides the chains' buffers.</summary>
    public void AddRead(ulong address, ulong length) => Add(_reads, address, length);

    /// <summary>The used ring: the device writes it, the oracle reads the returned heads from it.</summary>
    public void SetUsedRing(ulong address, ulong length) => _used = (address, address + length < address ? ulong.MaxValue : address + length);

    /// <summary>
    /// Whether memory the device may write while it processes the chains (their writable buffers,
    /// the used ring) overlaps memory it reads to parse them or the used ring: then a request can be
    /// changed by an earlier one in the same notify, and memory read before or after the notify does
    /// not tell what the device saw.
    /// </summary>
    public bool Aliased()
    {
        foreach ((ulong rs, ulong re) in _reads)
        {
            if (Overlap(_used, (rs, re)))
                return true;
            foreach ((ulong ws, ulong we) in _writes)
                if (Overlap((ws, we), (rs, re)))
                    return true;
        }
        foreach ((ulong ws, ulong we) in _writes)
            if (Overlap((ws, we), _used))
                return true;
        return false;
    }

    private static bool Overlap((ulong Start, ulong End) a, (ulong Start, ulong End) b) => a.Start < b.End && b.Start < a.End;

    /// <summary>Walks the chain at <paramref name="head"/> in <paramref name="memory"/>.</summary>
    public void Walk(GuestMemory memory, ulong descTable, uint size, ushort head)
    {
        Span<byte> header = stackalloc byte[VirtioBlkReqHeader.Size];
        int headerBytes = 0;
        ulong readable = 0;
        bool sawWritable = false;
        int budget = (int)size * 2 + 64;
        ulong table = descTable;
        uint tableSize = size;
        uint index = head;
        bool indirect = false;
        while (budget-- > 0 && index < tableSize)
        {
            if (!memory.TryRead(table + 16UL * index, out VirtqDesc desc))
                break;
            if ((desc.Flags & VirtqDescFlags.Indirect) != 0 && !indirect)
            {
                indirect = true;
                table = desc.Addr;
                tableSize = desc.Len / 16;
                AddRead(table, desc.Len);
                index = 0;
                continue;
            }
            if ((desc.Flags & VirtqDescFlags.Write) != 0)
            {
                sawWritable = true;
                Add(_writes, desc.Addr, desc.Len);
            }
            else
            {
                Add(_reads, desc.Addr, desc.Len);
                if (!sawWritable)
                {
                    int take = (int)Math.Min((ulong)(header.Length - headerBytes), desc.Len);
                    if (take > 0 && memory.TryRead(desc.Addr, header.Slice(headerBytes, take)))
                        headerBytes += take;
                    readable += desc.Len;
                }
            }
            if ((desc.Flags & VirtqDescFlags.Next) == 0)
                break;
            index = desc.Next;
        }
        if (headerBytes < header.Length || BitConverter.ToUInt32(header) != VirtioBlkRequestType.Out)
            return;
        ulong sector = BitConverter.ToUInt64(header[8..]);
        ulong sectors = (readable - (ulong)header.Length + 511) / 512;
        OutRanges.Add((sector, sector + sectors < sector ? ulong.MaxValue : sector + sectors));
    }

    private static void Add(List<(ulong, ulong)> ranges, ulong address, ulong length)
    {
        if (length > 0)
            ranges.Add((address, address + length < address ? ulong.MaxValue : address + length));
    }
}
