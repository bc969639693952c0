using System;
using System.Buffers.Binary;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Virtio;

namespace ParaVirt.Devices.Virtio;

/// <summary>
/// virtio-blk (virtio 1.x, 5.2) over a <see cref="DiskImage"/>, one request queue (queue 0).
/// Supports IN, OUT, FLUSH (fsync) and GET_ID. Every request is answered in the guest's status byte:
/// a malformed chain (header shorter than 16 bytes, device-readable after device-writable buffers,
/// data in the wrong direction, a data length that is not a sector multiple), a range past the end
/// of the disk, a write to a read-only disk or a host I/O error gives VIRTIO_BLK_S_IOERR; an unknown
/// type gives VIRTIO_BLK_S_UNSUPP. A chain without a device-writable last byte has nowhere to put a
/// status: it is returned with 0 bytes written. Nothing here throws on guest input or allocates per request.
/// </summary>
/// <example>
/// <code>
/// using var disk = DiskImage.Open("disk.img");
/// var block = new VirtioBlock(vm.WritableMemory, disk, id: "paravirt-disk0");
/// transport.Add(block);
/// // guest: [header R 16][data W 512][status W 1] on queue 0, VirtioNotify(dev, 0) → 1
/// </code>
/// </example>
public sealed class VirtioBlock : VirtioDevice
{
    /// <summary>
    /// The largest data transfer of one request (1 MiB): larger requests get VIRTIO_BLK_S_IOERR, so
    /// the host work one notification does is bounded whatever the guest's descriptors claim.
    /// </summary>
    public const ulong MaxRequestBytes = 1 << 20;

    /// <summary>
    /// The most bytes one notification moves between the disk and guest memory (4 MiB, four
    /// largest requests). A FLUSH moves nothing: its fsync writes back bytes the OUT requests before it
    /// already counted, so further flushes find little to write. Chains beyond the budget stay
    /// available and are processed by the next notification: a driver with requests outstanding
    /// after <c>VirtioNotify</c> returns notifies again (docs/virtio.md).
    /// </summary>
    public const ulong NotificationByteBudget = 4 << 20;

    /// <summary>The request queue's index.</summary>
    public const int RequestQueue = 0;

    private readonly DiskImage _disk;
    private readonly byte[] _id = new byte[VirtioBlkConfig.IdBytes];
    private readonly byte[] _bounce = new byte[DiskImage.SectorSize];

    /// <summary>Creates a block device over <paramref name="disk"/>.</summary>
    /// <param name="memory">The VM's guest memory.</param>
    /// <param name="disk">The disk; the device does not own it.</param>
    /// <param name="id">The GET_ID answer (UTF-8, at most 20 bytes kept, NUL padded); default: the file name.</param>
    /// <param name="maxQueueSize">The largest size of the request queue.</param>
    public VirtioBlock(GuestMemory memory, DiskImage disk, string? id = null, ushort maxQueueSize = 256)
        : base(memory, VirtioDeviceId.Block, queueCount: 1, maxQueueSize, Features(disk), VirtioBlkConfig.Size)
    {
        _disk = disk;
        byte[] text = Encoding.UTF8.GetBytes(id ?? Path.GetFileName(disk.Path));
        text.AsSpan(0, Math.Min(text.Length, _id.Length)).CopyTo(_id);
    }

    /// <summary>The disk behind the device.</summary>
    public DiskImage Disk => _disk;

    /// <summary>
    /// Most data segments per request reported in the configuration (<c>seg_max</c>): the size of
    /// the request queue the driver set up (the largest size before it did) minus the header and
    /// status descriptors, at least 1.
    /// </summary>
    public uint SegmentLimit
    {
        get
        {
            ushort size = GetQueue(RequestQueue).Size;
            uint queueSize = size != 0 ? size : MaxQueueSize;
            return queueSize > 3 ? queueSize - 2u : 1u;
        }
    }

    private static ulong Features(DiskImage disk)
    {
        ArgumentNullException.ThrowIfNull(disk);
        ulong features = (1UL << VirtioBlkFeatures.Flush) | (1UL << VirtioBlkFeatures.BlkSize) | (1UL << VirtioBlkFeatures.SegMax);
        if (disk.ReadOnly)
            features |= 1UL << VirtioBlkFeatures.ReadOnly;
        return features;
    }

    /// <inheritdoc/>
    protected override void FillConfig(Span<byte> config)
    {
        config.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(config, _disk.SectorCount);          // capacity
        BinaryPrimitives.WriteUInt32LittleEndian(config[12..], SegmentLimit);         // seg_max
        BinaryPrimitives.WriteUInt32LittleEndian(config[20..], DiskImage.SectorSize); // blk_size
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Invariant: one notification moves at most <see cref="NotificationByteBudget"/> bytes. A request
    /// moves at most <see cref="MaxRequestBytes"/>, so the device starts one only while the bytes moved
    /// so far leave room for a whole request. When the budget is spent, or the VM is asked to stop,
    /// the remaining chains stay in the available ring (<see cref="SplitVirtqueue.DeferRemaining"/>)
    /// and the next notification continues with them.
    /// </remarks>
    protected override int ProcessQueue(int index, SplitVirtqueue queue)
    {
        ulong moved = 0;
        var drain = new QueueDrain(queue, (long)NotificationByteBudget, (long)MaxRequestBytes, StopRequested);
        while (drain.TryNext(out DescriptorChain chain))
        {
            ulong before = moved;
            uint written = Execute(chain, ref moved);
            drain.Complete(chain, written, (long)(moved - before));
        }
        return drain.Completed;
    }

    /// <summary>Runs one request and writes its status byte; returns the bytes written into the chain.</summary>
    private uint Execute(in DescriptorChain chain, ref ulong moved)
    {
        ReadOnlySpan<VirtqBuffer> buffers = chain.Buffers;
        // The status byte is the last byte of the last buffer, which must be device-writable.
        if (buffers.IsEmpty || !buffers[^1].IsWriteOnly || buffers[^1].Length == 0)
            return 0;
        VirtqBuffer last = buffers[^1];
        ulong statusAddress = last.Address + last.Length - 1;

        uint dataWritten = 0;
        byte status = Run(chain, buffers, ref dataWritten, ref moved);
        // Invariant: statusAddress lies in a buffer validated at pop time, so this write cannot fail.
        Memory.TryWrite(statusAddress, status);
        return status == VirtioBlkStatus.Ok ? dataWritten + 1 : 1;
    }

    /// <summary>Runs one request; adds the bytes it moves (or tries to) to <paramref name="moved"/>.</summary>
    private byte Run(in DescriptorChain chain, ReadOnlySpan<VirtqBuffer> buffers, ref uint dataWritten, ref ulong moved)
    {
        // Device-readable buffers first, then device-writable ones (virtio 1.x, 2.7.4).
        int firstWritable = 0;
        while (!buffers[firstWritable].IsWriteOnly)
            firstWritable++;
        for (int i = firstWritable; i < buffers.Length; i++)
            if (!buffers[i].IsWriteOnly)
                return VirtioBlkStatus.IoErr;
        ReadOnlySpan<VirtqBuffer> readable = buffers[..firstWritable];
        ReadOnlySpan<VirtqBuffer> writable = buffers[firstWritable..];
        ulong readableBytes = chain.ReadableBytes;
        ulong writableData = chain.WritableBytes - 1; // the status byte excluded

        if (readableBytes < VirtioBlkReqHeader.Size || !TryReadHeader(readable, out VirtioBlkReqHeader header))
            return VirtioBlkStatus.IoErr;

        switch (header.Type)
        {
            case VirtioBlkRequestType.In:
            {
                if (readableBytes != VirtioBlkReqHeader.Size || writableData > MaxRequestBytes || !IsSectorRange(header.Sector, writableData))
                    return VirtioBlkStatus.IoErr;
                moved += writableData;
                if (!SectorTransfer.FromDisk(_disk, Memory, writable, writableData, header.Sector, _bounce))
                    return VirtioBlkStatus.IoErr;
                dataWritten = (uint)writableData;
                return VirtioBlkStatus.Ok;
            }
            case VirtioBlkRequestType.Out:
            {
                ulong length = readableBytes - VirtioBlkReqHeader.Size;
                if (_disk.ReadOnly || writableData != 0 || length > MaxRequestBytes || !IsSectorRange(header.Sector, length))
                    return VirtioBlkStatus.IoErr;
                moved += length;
                return SectorTransfer.ToDisk(_disk, Memory, readable, VirtioBlkReqHeader.Size, header.Sector, _bounce)
                    ? VirtioBlkStatus.Ok
                    : VirtioBlkStatus.IoErr;
            }
            case VirtioBlkRequestType.Flush:
                if (readableBytes != VirtioBlkReqHeader.Size || writableData != 0)
                    return VirtioBlkStatus.IoErr;
                return _disk.TryFlush() ? VirtioBlkStatus.Ok : VirtioBlkStatus.IoErr;
            case VirtioBlkRequestType.GetId:
            {
                if (readableBytes != VirtioBlkReqHeader.Size)
                    return VirtioBlkStatus.IoErr;
                int count = (int)Math.Min(writableData, (ulong)_id.Length);
                if (!Scatter(_id.AsSpan(0, count), writable))
                    return VirtioBlkStatus.IoErr;
                dataWritten = (uint)count;
                return VirtioBlkStatus.Ok;
            }
            default:
                return VirtioBlkStatus.Unsupp;
        }
    }

    /// <summary>Whether <paramref name="bytes"/> is a whole number of sectors from <paramref name="sector"/> on the disk.</summary>
    private bool IsSectorRange(ulong sector, ulong bytes) =>
        bytes % DiskImage.SectorSize == 0 && _disk.Contains(sector, bytes / DiskImage.SectorSize);

    /// <summary>Gathers the 16-byte header from the start of the readable buffers, however the driver split it.</summary>
    private bool TryReadHeader(ReadOnlySpan<VirtqBuffer> readable, out VirtioBlkReqHeader header)
    {
        header = default;
        Span<byte> target = MemoryMarshal.AsBytes(new Span<VirtioBlkReqHeader>(ref header));
        foreach (VirtqBuffer buffer in readable)
        {
            if (target.IsEmpty)
                break;
            int n = (int)Math.Min(buffer.Length, (uint)target.Length);
            if (!Memory.TryRead(buffer.Address, target[..n]))
                return false;
            target = target[n..];
        }
        if (!BitConverter.IsLittleEndian)
            return false; // virtio is little-endian; ParaVirt hosts are x86-64
        return target.IsEmpty;
    }

    /// <summary>Copies <paramref name="source"/> to the start of the writable buffers.</summary>
    private bool Scatter(ReadOnlySpan<byte> source, ReadOnlySpan<VirtqBuffer> writable)
    {
        foreach (VirtqBuffer buffer in writable)
        {
            if (source.IsEmpty)
                break;
            int n = (int)Math.Min(buffer.Length, (uint)source.Length);
            if (!Memory.TryWrite(buffer.Address, source[..n]))
                return false;
            source = source[n..];
        }
        return source.IsEmpty;
    }
}
