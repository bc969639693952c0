using ParaVirt.Abi.Nvme;
using ParaVirt.Guest;
using ParaVirt.Guest.Drivers;
using ParaVirt.Guest.Virtio;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// <c>blk-write</c>, <c>blk-read</c>, <c>blk-randread</c> and <c>blk-randread-qd32</c> on
/// <c>disk=nvme</c> (full mode): the NVMe driver with up to <c>queueDepth</c> 4 KiB requests per
/// batch (<see cref="NvmeDriver.QueueDepth"/> at most), one SQ tail doorbell per batch and one CQ
/// head doorbell after its completions are reaped: two MMIO exits per batch (per 32 requests at
/// queue depth 32, per request at queue depth 1). With <c>wait=block</c> the driver sleeps until
/// the controller's interrupt instead of polling the phase tag (<see cref="NvmeDriver"/>).
/// </summary>
internal static unsafe class NvmeBlockWorkload
{
    public static int Run(bool write, bool random, int queueDepth, long operations)
    {
        byte* buffers = (byte*)Virtqueue.AllocatePages((ulong)NvmeDriver.QueueDepth * WorkloadProtocol.BlockRequestBytes);
        int s = NvmeDriver.Open(out NvmeDriver disk, interrupts: WaitOption.Sleeps(Guest.StartInfo));
        if (s < 0)
        {
            ReportController(disk);
            return Report.Failure("nvme init", s, WorkloadProtocol.ExitDeviceInitFailed);
        }
        if ((ulong)operations * WorkloadProtocol.SectorsPerRequest > disk.Capacity)
            return Report.Failure("disk size check", DriverStatus.OutOfRange, WorkloadProtocol.ExitDiskTooSmall);
        int* bufferOfSlot = stackalloc int[NvmeDriver.QueueDepth];
        byte opcode = write ? NvmeIoOpcode.Write : NvmeIoOpcode.Read;
        long badSectors = 0;
        ulong firstBad = 0;
        if (queueDepth < 1 || queueDepth > NvmeDriver.QueueDepth)
            queueDepth = NvmeDriver.QueueDepth;
        Measurement.Start(operations);
        long done = 0;
        while (done < operations && s >= 0)
        {
            int batch = operations - done < queueDepth ? (int)(operations - done) : queueDepth;
            for (int j = 0; j < batch; j++)
            {
                byte* buffer = buffers + (long)j * WorkloadProtocol.BlockRequestBytes;
                ulong sector = BlockWorkload.RequestBlock(done + j, operations, random) * WorkloadProtocol.SectorsPerRequest;
                if (write)
                    SectorPattern.Fill(buffer, sector, WorkloadProtocol.SectorsPerRequest);
                int slot = disk.Submit(opcode, sector, buffer, WorkloadProtocol.BlockRequestBytes);
                if (slot < 0)
                {
                    s = slot;
                    break;
                }
                bufferOfSlot[slot] = j;
            }
            if (s < 0)
                break;
            disk.Kick(); // one exit for the batch
            for (int reaped = 0; reaped < batch; reaped++)
            {
                int r = disk.Reap(out int slot, out int status);
                if (r <= 0)
                {
                    s = r < 0 ? r : DriverStatus.Timeout;
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
                    ulong sector = BlockWorkload.RequestBlock(done + j, operations, random) * WorkloadProtocol.SectorsPerRequest;
                    byte* data = buffers + (long)j * WorkloadProtocol.BlockRequestBytes;
                    int bad = SectorPattern.CountMismatchedSectors(data, sector, WorkloadProtocol.SectorsPerRequest);
                    if (bad > 0 && badSectors == 0)
                        firstBad = BlockWorkload.FirstMismatch(data, sector);
                    badSectors += bad;
                }
            }
            disk.Acknowledge(); // one exit for the batch's completions
            done += batch;
        }
        Measurement.Stop(operations);
        if (s < 0)
        {
            ReportController(disk);
            return Report.Failure(write ? "nvme write" : "nvme read", s, WorkloadProtocol.ExitIoFailed);
        }
        if (write && (s = disk.Flush()) < 0)
            return Report.Failure("nvme flush", s, WorkloadProtocol.ExitIoFailed);
        return BlockWorkload.Verdict(badSectors, firstBad);
    }

    private static void ReportController(NvmeDriver disk)
    {
        Console.Write("nvme status ");
        Console.WriteHex(disk.LastDeviceStatus);
        Console.Write(" csts ");
        Console.WriteHex(disk.LastControllerStatus);
        Console.WriteLine();
    }
}
