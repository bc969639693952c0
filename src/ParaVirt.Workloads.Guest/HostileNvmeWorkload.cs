using ParaVirt.Abi.Nvme;
using ParaVirt.Guest;
using ParaVirt.Guest.Drivers;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// <c>hostile-nvme</c> (full mode, <c>disk=nvme</c>, for the integration tests): the guest drives the
/// NVMe controller's registers and queues itself, as a broken or malicious driver would, and checks
/// the outcome docs/emulated-devices.md ("Hostile drivers") defines for each:
/// <list type="number">
/// <item>a Read whose PRP1 lies outside guest memory, and one whose PRP list pointer does, and one
/// whose PRP list entry does: Data Transfer Error in the completion, the controller stays ready;</item>
/// <item>two commands with the same command ID in one batch: the first succeeds, the second
/// completes with Command ID Conflict without running; once the first's completion is acknowledged
/// the ID is free again;</item>
/// <item>phase confusion: a CQ head doorbell past the entries posted (a driver that lost the phase
/// tag): CSTS.CFS, after which a tail doorbell runs nothing; a reset (CC.EN = 0) clears it;</item>
/// <item>an SQ tail doorbell at the queue size, a CQ head doorbell at the queue size, a doorbell of
/// a queue that does not exist: CSTS.CFS each, cleared by a reset;</item>
/// </list>
/// then the guest driver brings the controller up again and a read verifies the disk's pattern.
/// Exits 0 only if every step happened as defined, <see cref="WorkloadProtocol.ExitUnexpectedOutcome"/>
/// otherwise. Prints one line per step for the host test.
/// </summary>
internal static unsafe class HostileNvmeWorkload
{
#if PARAVIRT_FULL
    private const ulong Bar = NvmeRegisters.BarBase;
    private const uint QueueEntries = 4;  // small: the size boundary is easy to hit
    private const ushort IoQueue = 1;
    private const ulong OutsideRam = 0xF000_0000;
    private const int PollLimit = 100_000;

    private static NvmeSubmissionEntry* s_asq, s_sq;
    private static NvmeCompletionEntry* s_acq, s_cq;
    private static byte* s_data;   // two pages of data buffer
    private static ulong* s_list;  // one PRP list page
    private static uint s_asqTail, s_acqHead, s_sqTail, s_cqHead;
    private static bool s_adminPhase, s_phase;
    private static ushort s_adminId;
#endif

    public static int Run()
    {
#if !PARAVIRT_FULL
        return Report.Failure("hostile-nvme exists in full mode only", DriverStatus.Unsupported, WorkloadProtocol.ExitNotInThisMode);
#else
        s_asq = (NvmeSubmissionEntry*)ParaVirt.Guest.Virtio.Virtqueue.AllocatePages(4096);
        s_acq = (NvmeCompletionEntry*)ParaVirt.Guest.Virtio.Virtqueue.AllocatePages(4096);
        s_sq = (NvmeSubmissionEntry*)ParaVirt.Guest.Virtio.Virtqueue.AllocatePages(4096);
        s_cq = (NvmeCompletionEntry*)ParaVirt.Guest.Virtio.Virtqueue.AllocatePages(4096);
        s_data = (byte*)ParaVirt.Guest.Virtio.Virtqueue.AllocatePages(3 * 4096);
        s_list = (ulong*)ParaVirt.Guest.Virtio.Virtqueue.AllocatePages(4096);
        int s = BringUp();
        if (s < 0)
            return Report.Failure("hostile-nvme bring-up", s, WorkloadProtocol.ExitDeviceInitFailed);
        bool ok = true;

        // 1. PRPs outside guest memory: each command completes with Data Transfer Error.
        Submit(0x10, NvmeIoOpcode.Read, lba: 0, blocks: 8, prp1: OutsideRam, prp2: 0);
        ok &= ExpectCompletion("PRP1 outside RAM", 0x10, NvmeStatus.DataTransferError);
        Submit(0x11, NvmeIoOpcode.Read, lba: 0, blocks: 24, prp1: (ulong)s_data, prp2: OutsideRam); // 12 KiB: PRP2 is a list pointer
        ok &= ExpectCompletion("PRP list outside RAM", 0x11, NvmeStatus.DataTransferError);
        s_list[0] = (ulong)s_data + 4096;
        s_list[1] = OutsideRam;
        Submit(0x12, NvmeIoOpcode.Read, lba: 0, blocks: 24, prp1: (ulong)s_data, prp2: (ulong)s_list);
        ok &= ExpectCompletion("PRP list entry outside RAM", 0x12, NvmeStatus.DataTransferError);

        // 2. Command-ID reuse: two commands with ID 0x20 in one batch (one doorbell).
        ok &= CommandIdReuse();

        // 3. Phase confusion: acknowledge an entry the controller never posted.
        ok &= PhaseConfusion();

        // 4. Doorbell values past the queue size, and a queue that does not exist.
        ok &= ExpectFatal("SQ tail at the queue size", NvmeRegisters.SubmissionTailDoorbell(IoQueue), QueueEntries);
        ok &= ExpectFatal("SQ tail far past the queue size", NvmeRegisters.SubmissionTailDoorbell(IoQueue), 0xFFFF_FFFF);
        ok &= ExpectFatal("CQ head at the queue size", NvmeRegisters.CompletionHeadDoorbell(IoQueue), QueueEntries);
        ok &= ExpectFatal("doorbell of queue 3, never created", NvmeRegisters.SubmissionTailDoorbell(3), 1);

        // The guest's own driver takes the controller over (it disables and re-enables it) and reads.
        if ((s = NvmeDriver.Open(out NvmeDriver disk)) < 0)
            return Report.Failure("nvme open after the hostile requests", s, WorkloadProtocol.ExitUnexpectedOutcome);
        byte* data = (byte*)ParaVirt.Guest.Virtio.Virtqueue.AllocatePages(4096);
        if ((s = disk.Transfer(NvmeIoOpcode.Read, 8, data, 4096)) < 0)
            return Report.Failure("nvme read after the hostile requests", s, WorkloadProtocol.ExitUnexpectedOutcome);
        if (SectorPattern.CountMismatchedSectors(data, 8, 8) != 0)
        {
            Console.WriteLine("hostile-nvme: the read after the hostile requests did not verify");
            return WorkloadProtocol.ExitUnexpectedOutcome;
        }
        Console.WriteLine(ok ? "hostile-nvme: every hostile access got its defined outcome; the disk works after them" : "hostile-nvme: an outcome was not the defined one");
        return ok ? WorkloadProtocol.ExitOk : WorkloadProtocol.ExitUnexpectedOutcome;
#endif
    }

#if PARAVIRT_FULL
    private static bool CommandIdReuse()
    {
        Submit(0x20, NvmeIoOpcode.Read, lba: 8, blocks: 8, prp1: (ulong)s_data, prp2: 0, ring: false);
        Submit(0x20, NvmeIoOpcode.Read, lba: 16, blocks: 8, prp1: (ulong)s_data + 4096, prp2: 0); // one doorbell for both
        bool ok = Take(out ushort id1, out ushort status1, acknowledge: false);
        ok &= Take(out ushort id2, out ushort status2, acknowledge: false);
        Acknowledge(); // one head doorbell for both: the first one's ID is free from here
        Submit(0x20, NvmeIoOpcode.Read, lba: 8, blocks: 8, prp1: (ulong)s_data, prp2: 0);
        ok &= Take(out ushort id3, out ushort status3, acknowledge: true);
        ok = ok && id1 == 0x20 && status1 == NvmeStatus.Success && id2 == 0x20 && status2 == NvmeStatus.CommandIdConflict
            && id3 == 0x20 && status3 == NvmeStatus.Success && SectorPattern.CountMismatchedSectors(s_data, 8, 8) == 0
            && Csts() == NvmeRegisters.CstsReady;
        Console.Write("hostile-nvme: command ID reused in one batch: statuses ");
        Console.WriteHex(status1);
        Console.Write(", ");
        Console.WriteHex(status2);
        Console.Write("; reused after the acknowledgement: ");
        Console.WriteHex(status3);
        Console.WriteLine(ok ? " (as defined)" : " (NOT as defined)");
        return ok;
    }

    private static bool PhaseConfusion()
    {
        Submit(0x30, NvmeIoOpcode.Read, lba: 8, blocks: 8, prp1: (ulong)s_data, prp2: 0);
        bool ok = Take(out ushort _, out ushort status, acknowledge: false) && status == NvmeStatus.Success;
        // One entry was posted; the driver acknowledges two, as if it had mistaken a stale entry of
        // the previous pass (its phase tag) for a new one.
        Mmio.Write32(Bar + NvmeRegisters.CompletionHeadDoorbell(IoQueue), (s_cqHead + 1) % QueueEntries);
        uint csts = Csts();
        // A failed controller runs nothing: the next command's completion never comes.
        NvmeCompletionEntry* next = s_cq + s_cqHead;
        Submit(0x31, NvmeIoOpcode.Read, lba: 8, blocks: 8, prp1: (ulong)s_data, prp2: 0);
        bool ranNothing = ((next->StatusAndPhase & NvmeCompletionEntry.PhaseBit) != 0) != s_phase;
        ok = ok && csts == (NvmeRegisters.CstsReady | NvmeRegisters.CstsFatal) && ranNothing;
        Console.Write("hostile-nvme: CQ head past the entries posted (phase confusion): csts ");
        Console.WriteHex(csts);
        Console.Write(ranNothing ? ", then nothing runs" : ", then a command ran");
        ok &= Recover();
        Console.WriteLine(ok ? " (as defined)" : " (NOT as defined)");
        return ok;
    }

    /// <summary>Writes <paramref name="value"/> to the doorbell at <paramref name="register"/>; expects CSTS.CFS, then resets and brings the controller up again.</summary>
    private static bool ExpectFatal(string what, ulong register, uint value)
    {
        Mmio.Write32(Bar + register, value);
        uint csts = Csts();
        bool ok = csts == (NvmeRegisters.CstsReady | NvmeRegisters.CstsFatal);
        Console.Write("hostile-nvme: ");
        Console.Write(what);
        Console.Write(": csts ");
        Console.WriteHex(csts);
        ok &= Recover();
        Console.WriteLine(ok ? " (as defined)" : " (NOT as defined)");
        return ok;
    }

    /// <summary>Resets the controller (CC.EN = 0 clears CFS) and brings it up again; a read then succeeds.</summary>
    private static bool Recover()
    {
        Mmio.Write32(Bar + NvmeRegisters.Cc, 0);
        uint csts = Csts();
        Console.Write(", after reset ");
        Console.WriteHex(csts);
        if (csts != 0 || BringUp() < 0)
            return false;
        Submit(0x7F, NvmeIoOpcode.Read, lba: 8, blocks: 8, prp1: (ulong)s_data, prp2: 0);
        bool ok = Take(out ushort id, out ushort status, acknowledge: true) && id == 0x7F && status == NvmeStatus.Success;
        Console.Write(ok ? ", works again" : ", does NOT work again");
        return ok;
    }

    private static bool ExpectCompletion(string what, ushort commandId, ushort expected)
    {
        bool ok = Take(out ushort id, out ushort status, acknowledge: true) && id == commandId && status == expected && Csts() == NvmeRegisters.CstsReady;
        Console.Write("hostile-nvme: ");
        Console.Write(what);
        Console.Write(": status ");
        Console.WriteHex(status);
        Console.WriteLine(ok ? ", controller ready (as defined)" : " (NOT as defined)");
        return ok;
    }

    private static uint Csts() => Mmio.Read32(Bar + NvmeRegisters.Csts);

    /// <summary>Disable, admin queue, enable, then I/O completion queue 1 and submission queue 1 of <see cref="QueueEntries"/> entries; all rings zeroed.</summary>
    private static int BringUp()
    {
        Mmio.Write32(Bar + NvmeRegisters.Cc, 0);
        if (Csts() != 0)
            return DriverStatus.Faulty;
        for (uint i = 0; i < QueueEntries; i++)
        {
            s_asq[i] = default;
            s_acq[i] = default;
            s_sq[i] = default;
            s_cq[i] = default;
        }
        s_asqTail = s_acqHead = s_sqTail = s_cqHead = 0;
        s_adminPhase = s_phase = true;
        Mmio.Write32(Bar + NvmeRegisters.Aqa, (QueueEntries - 1) << 16 | (QueueEntries - 1));
        Mmio.Write64(Bar + NvmeRegisters.Asq, (ulong)s_asq);
        Mmio.Write64(Bar + NvmeRegisters.Acq, (ulong)s_acq);
        Mmio.Write32(Bar + NvmeRegisters.Intms, 1);
        Mmio.Write32(Bar + NvmeRegisters.Cc, NvmeRegisters.CcEnableValue);
        if (Csts() != NvmeRegisters.CstsReady)
            return DriverStatus.Faulty;
        NvmeSubmissionEntry c = default;
        c.Opcode = NvmeAdminOpcode.CreateIoCompletionQueue;
        c.Prp1 = (ulong)s_cq;
        c.Cdw10 = IoQueue | (QueueEntries - 1) << 16;
        c.Cdw11 = 1; // contiguous, interrupts off
        int s = Admin(c);
        if (s < 0)
            return s;
        c = default;
        c.Opcode = NvmeAdminOpcode.CreateIoSubmissionQueue;
        c.Prp1 = (ulong)s_sq;
        c.Cdw10 = IoQueue | (QueueEntries - 1) << 16;
        c.Cdw11 = 1u | (uint)IoQueue << 16;
        return Admin(c);
    }

    private static int Admin(NvmeSubmissionEntry command)
    {
        command.CommandId = s_adminId++;
        s_asq[s_asqTail] = command;
        s_asqTail = (s_asqTail + 1) % QueueEntries;
        Mmio.Write32(Bar + NvmeRegisters.SubmissionTailDoorbell(0), s_asqTail);
        NvmeCompletionEntry* entry = s_acq + s_acqHead;
        int i = 0;
        while (((entry->StatusAndPhase & NvmeCompletionEntry.PhaseBit) != 0) != s_adminPhase && ++i < PollLimit)
            Mmio.Barrier();
        if (i == PollLimit)
            return DriverStatus.Timeout;
        ushort status = (ushort)(entry->StatusAndPhase >> 1);
        s_acqHead = (s_acqHead + 1) % QueueEntries;
        if (s_acqHead == 0)
            s_adminPhase = !s_adminPhase;
        Mmio.Write32(Bar + NvmeRegisters.CompletionHeadDoorbell(0), s_acqHead);
        return status == NvmeStatus.Success && entry->CommandId == command.CommandId ? DriverStatus.Ok : DriverStatus.DeviceError;
    }

    /// <summary>Writes an I/O command at the SQ tail and, unless <paramref name="ring"/> is false, rings the tail doorbell.</summary>
    private static void Submit(ushort commandId, byte opcode, ulong lba, uint blocks, ulong prp1, ulong prp2, bool ring = true)
    {
        NvmeSubmissionEntry* e = s_sq + s_sqTail;
        *e = default;
        e->Opcode = opcode;
        e->CommandId = commandId;
        e->NamespaceId = 1;
        e->Prp1 = prp1;
        e->Prp2 = prp2;
        e->Cdw10 = (uint)lba;
        e->Cdw11 = (uint)(lba >> 32);
        e->Cdw12 = blocks - 1;
        s_sqTail = (s_sqTail + 1) % QueueEntries;
        if (ring)
            Mmio.Write32(Bar + NvmeRegisters.SubmissionTailDoorbell(IoQueue), s_sqTail);
    }

    /// <summary>Takes the next I/O completion by its phase tag; false if none comes.</summary>
    private static bool Take(out ushort commandId, out ushort status, bool acknowledge)
    {
        commandId = 0;
        status = 0xFFFF;
        NvmeCompletionEntry* entry = s_cq + s_cqHead;
        int i = 0;
        while (((entry->StatusAndPhase & NvmeCompletionEntry.PhaseBit) != 0) != s_phase && ++i < PollLimit)
            Mmio.Barrier();
        if (i == PollLimit)
            return false;
        commandId = entry->CommandId;
        status = (ushort)(entry->StatusAndPhase >> 1);
        s_cqHead = (s_cqHead + 1) % QueueEntries;
        if (s_cqHead == 0)
            s_phase = !s_phase;
        if (acknowledge)
            Acknowledge();
        return true;
    }

    private static void Acknowledge() => Mmio.Write32(Bar + NvmeRegisters.CompletionHeadDoorbell(IoQueue), s_cqHead);
#endif
}
