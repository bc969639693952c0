using System;
using System.Collections.Generic;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// The oracle's own, independent reading of a virtio-blk request chain (virtio 1.x 2.7.5, 2.7.7,
/// 5.2.6): follows NEXT links and indirect tables from a head with loop bounds, and gives the
/// sectors an OUT request may write: [sector, sector + ceil(data bytes / 512)). It over-approximates
/// on purpose (a request the device rejects still counts): it only has to say which sectors no
/// request in the ring may touch.
/// </summary>
internal static class ChainModel
{
    /// <summary>Adds the sector range an OUT request at <paramref name="head"/> may write, if it is one.</summary>
    public static void AddOutRange(GuestMemory memory, ulong descTable, uint size, ushort head, List<(ulong Start, ulong End)> ranges)
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
                index = 0;
                continue;
            }
            if ((desc.Flags & VirtqDescFlags.Write) != 0)
                sawWritable = true;
            else if (!sawWritable)
            {
                int take = (int)Math.Min((ulong)(header.Length - headerBytes), desc.Len);
                if (take > 0 && memory.TryRead(desc.Addr, header.Slice(headerBytes, take)))
                    headerBytes += take;
                readable += desc.Len;
            }
            if ((desc.Flags & VirtqDescFlags.Next) == 0)
                break;
            index = desc.Next;
        }
        if (headerBytes < header.Length || BitConverter.ToUInt32(header) != VirtioBlkRequestType.Out)
            return;
        ulong sector = BitConverter.ToUInt64(header[8..]);
        ulong data = readable - (ulong)header.Length;
        ulong sectors = (data + 511) / 512;
        ulong end = sector + sectors < sector ? ulong.MaxValue : sector + sectors;
        ranges.Add((sector, end));
    }
}
