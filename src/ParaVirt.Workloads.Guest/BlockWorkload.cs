using ParaVirt.Abi.Virtio;
using ParaVirt.Guest;
using ParaVirt.Guest.Drivers;
using ParaVirt.Guest.Virtio;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// <c>blk-write</c> and <c>blk-read</c>: <c>operations</c> requests of 4 KiB (8 sectors) at
/// sectors 0, 8, 16, ...; one operation is one request. <c>blk-write</c> writes
/// <see cref="SectorPattern"/>; <c>blk-read</c> reads and compares every sector with it and fails
/// with <see cref="WorkloadProtocol.ExitVerifyFailed"/> on any difference. The command line's
/// <c>disk=</c> word picks the device (<see cref="GuestDisk"/>), and <see cref="Run"/> picks its
/// driver with a switch, one arm per device (a guest has no interface dispatch). Full mode: one
/// command per request on ATA (PIO or bus-master DMA). Para mode: the virtio-blk driver, 32 requests
/// in flight and one doorbell per 32.
/// </summary>
internal static unsafe class BlockWorkload
{
    /// <summary>
    /// Runs the workload on the disk named by <paramref name="diskName"/> (empty: the mode's default):
    /// sequential requests, or with <paramref name="random"/> the blocks of <see cref="RandomRequests"/>
    /// (reads only), with up to <paramref name="queueDepth"/> requests in flight on a device with a
    /// queue (a device without one runs them one at a time).
    /// </summary>
    public static int Run(bool write, bool random, int queueDepth, long operations, System.ReadOnlySpan<byte> diskName)
    {
        if (!GuestDisks.TryParse(diskName, out GuestDisk disk))
        {
            Console.Write("workloads: unknown disk device '");
            Console.Write(diskName);
            Console.WriteLine("'");
            return WorkloadProtocol.ExitUnknownDisk;
        }
        switch (disk)
        {
#if PARAVIRT_FULL
            case GuestDisk.AtaPio:
            case GuestDisk.IdeDma:
                return RunAta(disk, write, random, operations);
            case GuestDisk.Nvme:
                return NvmeBlockWorkload.Run(write, random, queueDepth, operations);
#else
            case GuestDisk.VirtioBlk:
                return RunVirtioBlk(write, random, queueDepth, operations, VirtioTransportMode.Hypercall);
            case GuestDisk.VirtioBlkAsync:
                return RunVirtioBlk(write, random, queueDepth, operations, WaitOption.AsyncWait(Guest.StartInfo));
#endif
            default:
                Console.Write("workloads: this build does not drive the disk '");
                Console.Write(diskName);
                Console.WriteLine("'");
                return WorkloadProtocol.ExitUnknownDisk;
        }
    }

#if PARAVIRT_FULL
    /// <summary>ATA PIO or IDE bus-master DMA: one command per 4 KiB request.</summary>
    private static int RunAta(GuestDisk kind, bool write, bool random, long operations)
    {
        byte* buffers = (byte*)Virtqueue.AllocatePages(WorkloadProtocol.BlockRequestBytes);
        long badSectors = 0;
        ulong firstBad = 0;
        var disk = new FullModeDisk(kind);
        int s = disk.Initialize(interrupts: WaitOption.Sleeps(Guest.StartInfo));
        if (s < 0)
            return Report.Failure(kind == GuestDisk.IdeDma ? "ide-dma init" : "ata init", s, WorkloadProtocol.ExitDeviceInitFailed);
        if ((ulong)operations * WorkloadProtocol.SectorsPerRequest > disk.SectorCount)
            return Report.Failure("disk size check", DriverStatus.OutOfRange, WorkloadProtocol.ExitDiskTooSmall);
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
        {
            uint lba = (uint)(RequestBlock(i, operations, random) * WorkloadProtocol.SectorsPerRequest);
            if (write)
            {
                SectorPattern.Fill(buffers, lba, WorkloadProtocol.SectorsPerRequest);
                s = disk.Write(lba, WorkloadProtocol.SectorsPerRequest, buffers);
            }
            else
            {
                s = disk.Read(lba, WorkloadProtocol.SectorsPerRequest, buffers);
                int bad = s < 0 ? 0 : SectorPattern.CountMismatchedSectors(buffers, lba, WorkloadProtocol.SectorsPerRequest);
                if (bad > 0 && badSectors == 0)
                    firstBad = FirstMismatch(buffers, lba);
                badSectors += bad;
            }
            if (s < 0)
                break;
        }
        Measurement.Stop(operations);
        if (s < 0)
        {
            Console.Write(disk.Name);
            Console.Write(" status ");
            Console.WriteHex(disk.LastStatus);
            Console.Write(" error ");
            Console.WriteHex(disk.LastError);
            Console.WriteLine();
            return Report.Failure(write ? "disk write" : "disk read", s, WorkloadProtocol.ExitIoFailed);
        }
        if (write && (s = disk.Flush()) < 0)
            return Report.Failure("disk flush", s, WorkloadProtocol.ExitIoFailed);
        return Verdict(badSectors, firstBad);
    }
#else
    /// <summary>
    /// virtio-blk: <paramref name="queueDepth"/> (1 to 32) requests in flight. On the hypercall
    /// transport one notify (exit) per batch; on the asynchronous one a doorbell (no exit) per
    /// batch, then the wait for the device thread.
    /// </summary>
    private static int RunVirtioBlk(bool write, bool random, int queueDepth, long operations, VirtioTransportMode mode)
    {
        byte* buffers = (byte*)Virtqueue.AllocatePages((ulong)VirtioBlkDriver.QueueDepth * WorkloadProtocol.BlockRequestBytes);
        long badSectors = 0;
        ulong firstBad = 0;
        int s = VirtioBlkDriver.Open(out VirtioBlkDriver disk, mode);
        if (s < 0)
            return Report.Failure("virtio-blk init", s, WorkloadProtocol.ExitDeviceInitFailed);
        if ((ulong)operations * WorkloadProtocol.SectorsPerRequest > disk.Capacity)
            return Report.Failure("disk size check", DriverStatus.OutOfRange, WorkloadProtocol.ExitDiskTooSmall);
        int* bufferOfSlot = stackalloc int[VirtioBlkDriver.QueueDepth];
        uint type = write ? VirtioBlkRequestType.Out : VirtioBlkRequestType.In;
        Measurement.Start(operations);
        long done = 0;
        while (done < operations && s >= 0)
        {
            int batch = operations - done < queueDepth ? (int)(operations - done) : queueDepth;
            for (int j = 0; j < batch; j++)
            {
                byte* buffer = buffers + (long)j * WorkloadProtocol.BlockRequestBytes;
                ulong sector = RequestBlock(done + j, operations, random) * WorkloadProtocol.SectorsPerRequest;
                if (write)
                    SectorPattern.Fill(buffer, sector, WorkloadProtocol.SectorsPerRequest);
                int slot = disk.Submit(type, sector, buffer, WorkloadProtocol.BlockRequestBytes);
                if (slot < 0)
                {
                    s = slot;
                    break;
                }
                bufferOfSlot[slot] = j;
            }
            if (s < 0)
                break;
            long kicked = disk.Kick();
            if (kicked < 0)
            {
                s = (int)kicked;
                break;
            }
            int waited = disk.WaitForCompletions(batch); // asynchronous transport: the device thread's work
            if (waited < 0)
            {
                s = waited;
                break;
            }
            for (int reaped = 0; reaped < batch; reaped++)
            {
                int r = disk.Reap(out int slot, out int status);
                if (r <= 0)
                {
                    s = r < 0 ? r : DriverStatus.Timeout; // the device kept a request: it completes synchronously
                    break;
                }
                if (status < 0)
                {
                    s = status;
                    break;
                }
                if (!write)
                {
                    int j = bufferOfSlot[slot];
                    ulong sector = RequestBlock(done + j, operations, random) * WorkloadProtocol.SectorsPerRequest;
                    byte* data = buffers + (long)j * WorkloadProtocol.BlockRequestBytes;
                    int bad = SectorPattern.CountMismatchedSectors(data, sector, WorkloadProtocol.SectorsPerRequest);
                    if (bad > 0 && badSectors == 0)
                        firstBad = FirstMismatch(data, sector);
                    badSectors += bad;
                }
            }
            done += batch;
        }
        Measurement.Stop(operations);
        if (disk.Doorbell != null)
        {
            Console.Write("virtio-blk-async: ");
            Console.WriteDecimal(disk.Doorbell.Rings);
            Console.Write(" doorbell rings, ");
            Console.WriteDecimal(disk.Blocks);
            Console.Write(" blocks");
            Console.WriteLine();
        }
        if (s < 0)
        {
            Console.Write("virtio-blk status byte ");
            Console.WriteDecimal(disk.LastDeviceStatus);
            Console.WriteLine();
            return Report.Failure(write ? "virtio-blk write" : "virtio-blk read", s, WorkloadProtocol.ExitIoFailed);
        }
        if (write && (s = disk.Flush()) < 0)
            return Report.Failure("virtio-blk flush", s, WorkloadProtocol.ExitIoFailed);
        return Verdict(badSectors, firstBad);
    }
#endif

    /// <summary>The 4 KiB block request <paramref name="i"/> moves: <paramref name="i"/> itself, or a random one of the disk's <paramref name="blocks"/>.</summary>
    internal static ulong RequestBlock(long i, long blocks, bool random) => random ? RandomRequests.Block(i, blocks) : (ulong)i;

    /// <summary>Reports sectors that differed from the pattern (<see cref="WorkloadProtocol.ExitVerifyFailed"/>), or OK.</summary>
    internal static int Verdict(long badSectors, ulong firstBad)
    {
        if (badSectors > 0)
        {
            Console.Write("workloads: blk-read: ");
            Console.WriteDecimal(badSectors);
            Console.Write(" sector(s) differ from the pattern, the first at sector ");
            Console.WriteDecimal(firstBad);
            Console.WriteLine();
            return WorkloadProtocol.ExitVerifyFailed;
        }
        return WorkloadProtocol.ExitOk;
    }

    /// <summary>The first sector of a request's buffer that differs from the pattern.</summary>
    internal static ulong FirstMismatch(byte* request, ulong firstSector)
    {
        for (int k = 0; k < WorkloadProtocol.SectorsPerRequest; k++)
            if (SectorPattern.CountMismatchedSectors(request + k * 512, firstSector + (ulong)k, 1) != 0)
                return firstSector + (ulong)k;
        return firstSector;
    }
}
