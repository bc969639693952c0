using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Guest;
using ParaVirt.Guest.Drivers;
using ParaVirt.Guest.Virtio;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// <c>hostile-desc-loop</c> and <c>hostile-avail-ahead</c> (para mode, for the integration tests):
/// the guest opens virtio-blk normally, then corrupts its own request queue (a two-descriptor loop,
/// or <c>avail-&gt;idx</c> 1000 entries ahead) and rings the doorbell. The defined outcome
/// (docs/virtio.md): VirtioNotify returns NotPermitted, the status byte has DEVICE_NEEDS_RESET,
/// a second notify is refused too, and after a reset the device works again. The guest checks each
/// step and exits 0 only if all of them happened, <see cref="WorkloadProtocol.ExitUnexpectedOutcome"/> otherwise.
/// </summary>
internal static unsafe class HostileRingWorkload
{
    public enum Corruption
    {
        DescriptorLoop,
        AvailIndexFarAhead,
    }

    public static int Run(Corruption corruption, bool asynchronous = false)
    {
#if PARAVIRT_FULL
        return Report.Failure("hostile ring workloads exist in para mode only", DriverStatus.Unsupported, WorkloadProtocol.ExitNotInThisMode);
#else
        VirtioTransportMode mode = asynchronous ? VirtioTransportMode.AsyncPoll : VirtioTransportMode.Hypercall;
        int s = VirtioBlkDriver.Open(out VirtioBlkDriver disk, mode);
        if (s < 0)
            return Report.Failure("virtio-blk init", s, WorkloadProtocol.ExitDeviceInitFailed);
        Virtqueue q = disk.Queue;
        if (corruption == Corruption.DescriptorLoop)
        {
            VirtqDesc* d = q.Descriptors;
            d[0].Addr = (ulong)d;
            d[0].Len = 16;
            d[0].Flags = VirtqDescFlags.Next;
            d[0].Next = 1;
            d[1].Addr = (ulong)d;
            d[1].Len = 16;
            d[1].Flags = VirtqDescFlags.Next;
            d[1].Next = 0;
            *q.AvailableEntry(0) = 0;
            VirtioBarrier.Write();
            *q.AvailableIndex = 1;
        }
        else
        {
            VirtioBarrier.Write();
            *q.AvailableIndex = 1000;
        }
        VirtioBarrier.Write();
        if (asynchronous)
            return RunAsynchronous(disk);
        long first = VirtioHypercalls.Notify(disk.Device.Index, 0);
        long status = VirtioHypercalls.GetStatus(disk.Device.Index);
        long second = VirtioHypercalls.Notify(disk.Device.Index, 0);
        bool defined = first == (long)HypercallStatus.NotPermitted
            && status >= 0 && (status & VirtioDeviceStatus.DeviceNeedsReset) != 0
            && second == (long)HypercallStatus.NotPermitted;
        Console.Write("hostile: notify ");
        Console.WriteDecimal(first);
        Console.Write(", status ");
        Console.WriteHex((ulong)status);
        Console.Write(", notify again ");
        Console.WriteDecimal(second);
        Console.WriteLine();
        if (!defined)
            return WorkloadProtocol.ExitUnexpectedOutcome;

        return Recover(disk, mode);
#endif
    }

#if !PARAVIRT_FULL
    /// <summary>
    /// The asynchronous transport: the device thread finds the corruption after the doorbell. The
    /// defined outcome: it sets DEVICE_NEEDS_RESET and raises the queue's event channel even though
    /// the driver suppressed completion events; the driver, polling, sees the event without an exit
    /// of its own, reads the status, and recovers with a reset.
    /// </summary>
    private static int RunAsynchronous(VirtioBlkDriver disk)
    {
        VirtioDoorbell bell = disk.Doorbell;
        disk.Queue.SetUsedEvent((ushort)(disk.Queue.LastUsed + 0x8000)); // no completion events wanted
        bell.Ring();
        long spins = 0;
        while (!Events.TakeChannel(bell.Channel))
            spins++; // the device thread's event reaches the shared-info page at the vCPU's kick
        long status = VirtioHypercalls.GetStatus(disk.Device.Index);
        long notify = VirtioHypercalls.Notify(disk.Device.Index, 0);
        Console.Write("hostile async: event on channel ");
        Console.WriteDecimal(bell.Channel);
        Console.Write(", status ");
        Console.WriteHex((ulong)status);
        Console.Write(", notify ");
        Console.WriteDecimal(notify);
        Console.WriteLine();
        if (status < 0 || (status & VirtioDeviceStatus.DeviceNeedsReset) == 0 || notify != (long)HypercallStatus.NotPermitted)
            return WorkloadProtocol.ExitUnexpectedOutcome;
        return Recover(disk, VirtioTransportMode.AsyncPoll);
    }
#endif

    /// <summary>Recovery: reset, initialise again, write and read back one request.</summary>
    private static int Recover(VirtioBlkDriver disk, VirtioTransportMode mode)
    {
#if PARAVIRT_FULL
        return WorkloadProtocol.ExitNotInThisMode;
#else
        int s;
        if ((s = disk.Device.Reset()) < 0)
            return Report.Failure("reset", s, WorkloadProtocol.ExitUnexpectedOutcome);
        if ((s = VirtioBlkDriver.Open(out VirtioBlkDriver fresh, mode)) < 0)
            return Report.Failure("virtio-blk re-init", s, WorkloadProtocol.ExitUnexpectedOutcome);
        byte* buffer = (byte*)Virtqueue.AllocatePages(WorkloadProtocol.BlockRequestBytes);
        SectorPattern.Fill(buffer, 0, WorkloadProtocol.SectorsPerRequest);
        if ((s = fresh.Transfer(VirtioBlkRequestType.Out, 0, buffer, WorkloadProtocol.BlockRequestBytes)) < 0)
            return Report.Failure("write after reset", s, WorkloadProtocol.ExitUnexpectedOutcome);
        for (int i = 0; i < WorkloadProtocol.BlockRequestBytes; i++)
            buffer[i] = 0;
        if ((s = fresh.Transfer(VirtioBlkRequestType.In, 0, buffer, WorkloadProtocol.BlockRequestBytes)) < 0)
            return Report.Failure("read after reset", s, WorkloadProtocol.ExitUnexpectedOutcome);
        if (SectorPattern.CountMismatchedSectors(buffer, 0, WorkloadProtocol.SectorsPerRequest) != 0)
            return WorkloadProtocol.ExitVerifyFailed;
        Console.WriteLine("hostile: the device needed a reset, and works again after it");
        return WorkloadProtocol.ExitOk;
#endif
    }
}
