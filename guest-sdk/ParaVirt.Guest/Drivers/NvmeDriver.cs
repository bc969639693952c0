using Internal.Runtime;
using ParaVirt.Abi.Nvme;

namespace ParaVirt.Guest.Drivers;

/// <summary>
/// A minimal NVMe driver, polled or (full flavour) interrupt-driven, modelled on Linux's <c>drivers/nvme/host/pci.c</c>: one admin
/// queue pair and one I/O queue pair, namespace 1, 512-byte blocks, PRPs (PRP1, PRP2, a PRP list
/// page per request for larger transfers), up to <see cref="QueueDepth"/> requests in flight.
/// </summary>
/// <remarks>
/// <para>Bring-up (<see cref="Open"/>), as <c>nvme_pci_enable</c> and
/// <c>nvme_pci_configure_admin_queue</c>: read CAP, disable (CC.EN = 0) and wait for RDY to clear,
/// program AQA/ASQ/ACQ, mask the interrupt vector (INTMS: this driver polls), enable with 64-byte SQ
/// and 16-byte CQ entries and wait for RDY (CFS fails at once); Identify Controller (MDTS), Identify
/// Namespace 1 (size, 512-byte LBA format), Set Features Number of Queues, Create I/O Completion
/// Queue 1 (interrupts off), then Create I/O Submission Queue 1 bound to it.</para>
/// <para>I/O, as <c>nvme_queue_rq</c>/<c>nvme_commit_rqs</c>/<c>nvme_poll</c>: <see cref="Submit"/>
/// writes a submission entry (no exit); <see cref="Kick"/> writes the SQ tail doorbell once for the
/// whole batch (one MMIO exit; the emulated controller completes the batch during it);
/// <see cref="Reap"/> takes completions by phase tag (no exit), each checked before it is trusted
/// (its submission queue, and a command ID that names a request in flight);
/// <see cref="Acknowledge"/> writes the CQ head doorbell once for everything reaped (one MMIO exit).
/// A batch of up to 32 requests therefore costs two exits.</para>
/// <para><b>Interrupts</b> (<c>Open(out d, interrupts: true)</c>, full flavour): the vector is
/// unmasked after bring-up (the admin queue polls) and I/O completion queue 1 is created with interrupts enabled (vector 0, the
/// controller's pin, line <see cref="NvmeRegisters.InterruptLine"/>); the first <see cref="Reap"/>
/// after a <see cref="Kick"/> sleeps in <see cref="Events.WaitForInterrupt"/> until the pin fires,
/// then takes the completions, as <c>nvme_irq</c> does. The controller raises the pin once per exit
/// that posted completions, so a batch costs
/// the doorbell, the wait (sti, hlt, the handler's sti/iretq, cli: 4 exits) and the CQ head doorbell:
/// 6 exits per batch instead of 2.</para>
/// <para>Command IDs carry a generation above the slot number, as Linux's <c>nvme_cid</c> does, so
/// a slot reused before its completion was acknowledged gets a new ID.</para>
/// </remarks>
/// <example><code>
/// if (NvmeDriver.Open(out NvmeDriver disk) &lt; 0) return 1;
/// for (int i = 0; i &lt; 32; i++) disk.Submit(NvmeIoOpcode.Write, (ulong)i * 8, buffers[i], 4096);
/// disk.Kick();                                            // one exit for 32 requests
/// while (disk.Reap(out int slot, out int status) == 1) { }
/// disk.Acknowledge();                                     // one exit
/// </code></example>
public sealed unsafe class NvmeDriver
{
    /// <summary>Requests in flight at most.</summary>
    public const int QueueDepth = 32;

    /// <summary>Entries of the I/O queues (more than <see cref="QueueDepth"/>: the submission queue never fills).</summary>
    public const uint IoQueueEntries = 64;

    /// <summary>Entries of the admin queues.</summary>
    public const uint AdminQueueEntries = 8;

    /// <summary>Register and completion polls before <see cref="DriverStatus.Timeout"/>.</summary>
    public const int PollLimit = 1_000_000;

    /// <summary>The largest transfer this driver builds (one PRP list page per slot covers it).</summary>
    public const uint MaxTransferBytes = 128 * 1024;

    private const ulong PageSize = NvmeRegisters.PageSize;
    private const ushort IoQueueId = 1;
    private const int SlotBits = 5; // QueueDepth = 32 slots

    private readonly ulong _bar;
    private readonly NvmeSubmissionEntry* _asq;
    private readonly NvmeCompletionEntry* _acq;
    private readonly NvmeSubmissionEntry* _sq;
    private readonly NvmeCompletionEntry* _cq;
    private readonly ulong* _prpLists;       // one page per slot
    private readonly byte* _identify;        // one page
    private readonly ushort* _commandIdOfSlot; // the ID in flight per slot, 0xFFFF when free
    private readonly int* _freeSlots;
    private int _freeSlotCount;
    private uint _asqTail, _acqHead, _sqTail, _cqHead;
    private bool _adminPhase = true, _phase = true;
    private ushort _adminCommandId, _generation;
    private int _unacknowledged;             // completions reaped since the last CQ head doorbell
    private int _unsubmitted;                // entries written since the last SQ tail doorbell
    private bool _interrupts;                // completions are waited for by interrupt (full flavour)
#if !PARAVIRT_PARA
    private bool _awaitingInterrupt;         // interrupt mode: a batch was rung and its interrupt not yet taken
#endif

    private NvmeDriver(ulong bar)
    {
        _bar = bar;
        _asq = (NvmeSubmissionEntry*)AllocatePages(AdminQueueEntries * NvmeSubmissionEntry.Size);
        _acq = (NvmeCompletionEntry*)AllocatePages(AdminQueueEntries * NvmeCompletionEntry.Size);
        _sq = (NvmeSubmissionEntry*)AllocatePages(IoQueueEntries * NvmeSubmissionEntry.Size);
        _cq = (NvmeCompletionEntry*)AllocatePages(IoQueueEntries * NvmeCompletionEntry.Size);
        _prpLists = (ulong*)AllocatePages(QueueDepth * PageSize);
        _identify = (byte*)AllocatePages(PageSize);
        _commandIdOfSlot = (ushort*)BumpAllocator.Allocate(2UL * QueueDepth);
        _freeSlots = (int*)BumpAllocator.Allocate(4UL * QueueDepth);
        for (int i = 0; i < QueueDepth; i++)
        {
            _commandIdOfSlot[i] = 0xFFFF;
            _freeSlots[i] = QueueDepth - 1 - i;
        }
        _freeSlotCount = QueueDepth;
    }

    /// <summary>The namespace size in 512-byte blocks (Identify Namespace NSZE).</summary>
    public ulong Capacity { get; private set; }

    /// <summary>The largest transfer of one command: the controller's MDTS, at most <see cref="MaxTransferBytes"/>.</summary>
    public uint TransferLimit { get; private set; }

    /// <summary>Requests submitted and not yet reaped.</summary>
    public int InFlight => QueueDepth - _freeSlotCount;

    /// <summary>The status field (<see cref="NvmeStatus"/>) of the last failed command, or 0.</summary>
    public ushort LastDeviceStatus { get; private set; }

    /// <summary>CSTS when bring-up failed or the controller reported a fatal status.</summary>
    public uint LastControllerStatus { get; private set; }

    /// <summary>Whether completions are waited for by interrupt (<c>Open(out d, interrupts: true)</c>).</summary>
    public bool UsesInterrupts => _interrupts;

    /// <summary>
    /// Brings up the controller at <see cref="NvmeRegisters.BarBase"/>, polled, or with
    /// <paramref name="interrupts"/> (full flavour only: the pin is an IRQ line through the virtual
    /// IDT) interrupt-driven. Returns 0 or a negative status.
    /// </summary>
    public static int Open(out NvmeDriver driver, bool interrupts = false)
    {
        driver = new NvmeDriver(NvmeRegisters.BarBase);
#if PARAVIRT_PARA
        if (interrupts)
            return DriverStatus.Unsupported; // para mode has event channels, not IRQ lines
#else
        if (interrupts)
            Events.Install();
#endif
        driver._interrupts = interrupts; // para flavour: false here (refused above)
        int s = driver.Enable();
        if (s < 0)
            return s;
        if ((s = driver.IdentifyAndCreateQueues()) < 0)
            return s;
        if (driver._interrupts)
            Mmio.Write32(driver._bar + NvmeRegisters.Intmc, 1); // unmask: I/O CQ 1's completions now raise the pin
        return DriverStatus.Ok;
    }

    private int Enable()
    {
        ulong cap = Mmio.Read64(_bar + NvmeRegisters.Cap);
        uint csts = Mmio.Read32(_bar + NvmeRegisters.Csts);
        if (csts == 0xFFFF_FFFF || cap == 0xFFFF_FFFF_FFFF_FFFFUL)
            return DriverStatus.NoDevice; // nothing decodes the window: reads float
        ulong mqes = cap & NvmeRegisters.CapMqesMask;
        if ((cap & NvmeRegisters.CapNvmCommandSet) == 0 || ((cap >> 48) & 0xF) != 0 || mqes + 1 < IoQueueEntries || mqes + 1 < AdminQueueEntries
            || ((cap >> NvmeRegisters.CapDoorbellStrideShift) & 0xF) != 0)
            return DriverStatus.Unsupported;

        // Disable, and wait for the controller to stop (RDY clear).
        if ((Mmio.Read32(_bar + NvmeRegisters.Cc) & NvmeRegisters.CcEnable) != 0)
            Mmio.Write32(_bar + NvmeRegisters.Cc, 0);
        int s = WaitReady(false);
        if (s < 0)
            return s;

        Mmio.Write32(_bar + NvmeRegisters.Aqa, (AdminQueueEntries - 1) << 16 | (AdminQueueEntries - 1));
        Mmio.Write64(_bar + NvmeRegisters.Asq, (ulong)_asq);
        Mmio.Write64(_bar + NvmeRegisters.Acq, (ulong)_acq);
        Mmio.Write32(_bar + NvmeRegisters.Intms, 1); // no interrupts during bring-up (the admin queue polls)
        Mmio.Write32(_bar + NvmeRegisters.Cc, NvmeRegisters.CcEnableValue);
        return WaitReady(true);
    }

    /// <summary>Polls CSTS until RDY equals <paramref name="ready"/>; CFS fails at once.</summary>
    private int WaitReady(bool ready)
    {
        for (int i = 0; i < PollLimit; i++)
        {
            uint csts = Mmio.Read32(_bar + NvmeRegisters.Csts);
            LastControllerStatus = csts;
            if (csts == 0xFFFF_FFFF)
                return DriverStatus.NoDevice;
            if ((csts & NvmeRegisters.CstsFatal) != 0 && ready)
                return DriverStatus.Faulty;
            if (((csts & NvmeRegisters.CstsReady) != 0) == ready)
                return DriverStatus.Ok;
        }
        return DriverStatus.Timeout;
    }

    private int IdentifyAndCreateQueues()
    {
        NvmeSubmissionEntry c = default;
        c.Opcode = NvmeAdminOpcode.Identify;
        c.Prp1 = (ulong)_identify;
        c.Cdw10 = NvmeAdminOpcode.IdentifyController;
        int s = Admin(ref c, out _);
        if (s < 0)
            return s;
        byte mdts = _identify[NvmeIdentifyLayout.ControllerMaxTransfer];
        TransferLimit = mdts == 0 || mdts >= 6 ? MaxTransferBytes : (uint)(PageSize << mdts);
        if (*(uint*)(_identify + NvmeIdentifyLayout.ControllerNamespaceCount) < 1)
            return DriverStatus.NoDevice;

        c = default;
        c.Opcode = NvmeAdminOpcode.Identify;
        c.NamespaceId = 1;
        c.Prp1 = (ulong)_identify;
        c.Cdw10 = NvmeAdminOpcode.IdentifyNamespace;
        if ((s = Admin(ref c, out _)) < 0)
            return s;
        byte format = (byte)(_identify[NvmeIdentifyLayout.NamespaceFormattedLbaSize] & 0xF);
        uint lbaFormat = *(uint*)(_identify + NvmeIdentifyLayout.NamespaceLbaFormat0 + 4 * format);
        if (((lbaFormat >> 16) & 0xFF) != 9 || (lbaFormat & 0xFFFF) != 0)
            return DriverStatus.Unsupported; // 512-byte blocks without metadata only
        Capacity = *(ulong*)(_identify + NvmeIdentifyLayout.NamespaceSize);

        c = default;
        c.Opcode = NvmeAdminOpcode.SetFeatures;
        c.Cdw10 = NvmeAdminOpcode.FeatureNumberOfQueues;
        c.Cdw11 = 0; // one submission and one completion queue (0-based)
        if ((s = Admin(ref c, out _)) < 0)
            return s;

        c = default;
        c.Opcode = NvmeAdminOpcode.CreateIoCompletionQueue;
        c.Prp1 = (ulong)_cq;
        c.Cdw10 = IoQueueId | (IoQueueEntries - 1) << 16;
        c.Cdw11 = _interrupts ? 1u | 2u : 1u; // physically contiguous; IEN with interrupt vector 0 (bits 31:16), or off
        if ((s = Admin(ref c, out _)) < 0)
            return s;

        c = default;
        c.Opcode = NvmeAdminOpcode.CreateIoSubmissionQueue;
        c.Prp1 = (ulong)_sq;
        c.Cdw10 = IoQueueId | (IoQueueEntries - 1) << 16;
        c.Cdw11 = 1u | (uint)IoQueueId << 16; // contiguous, completes on CQ 1
        return Admin(ref c, out _);
    }

    /// <summary>Runs one admin command synchronously: entry, tail doorbell, poll the phase tag, head doorbell.</summary>
    private int Admin(ref NvmeSubmissionEntry command, out uint result)
    {
        result = 0;
        command.CommandId = _adminCommandId++;
        _asq[_asqTail] = command;
        _asqTail = (_asqTail + 1) % AdminQueueEntries;
        Mmio.Write32(_bar + NvmeRegisters.SubmissionTailDoorbell(0), _asqTail);
        NvmeCompletionEntry* entry = _acq + _acqHead;
        int i = 0;
        for (; i < PollLimit; i++)
        {
            Mmio.Barrier();
            if (((entry->StatusAndPhase & NvmeCompletionEntry.PhaseBit) != 0) == _adminPhase)
                break;
            if ((i & 1023) == 1023 && (Mmio.Read32(_bar + NvmeRegisters.Csts) & NvmeRegisters.CstsFatal) != 0)
                return Fatal();
        }
        if (i == PollLimit)
            return DriverStatus.Timeout;
        Mmio.Barrier(); // the phase tag before the rest of the entry
        ushort status = (ushort)(entry->StatusAndPhase >> 1);
        ushort id = entry->CommandId;
        result = entry->Result;
        _acqHead = (_acqHead + 1) % AdminQueueEntries;
        if (_acqHead == 0)
            _adminPhase = !_adminPhase;
        Mmio.Write32(_bar + NvmeRegisters.CompletionHeadDoorbell(0), _acqHead);
        if (id != command.CommandId)
            return DriverStatus.BadRing;
        if (status != NvmeStatus.Success)
        {
            LastDeviceStatus = status;
            return DriverStatus.DeviceError;
        }
        return DriverStatus.Ok;
    }

    private int Fatal()
    {
        LastControllerStatus = Mmio.Read32(_bar + NvmeRegisters.Csts);
        return DriverStatus.NeedsReset;
    }

    /// <summary>
    /// Queues one command (no exit): <see cref="NvmeIoOpcode.Read"/> into <paramref name="data"/>,
    /// <see cref="NvmeIoOpcode.Write"/> from it (<paramref name="length"/> a multiple of 512 up to
    /// <see cref="TransferLimit"/>, the buffer dword aligned), or <see cref="NvmeIoOpcode.Flush"/>
    /// (no data). Returns the request's slot (0 to 31), or <see cref="DriverStatus.QueueFull"/>,
    /// <see cref="DriverStatus.OutOfRange"/>, <see cref="DriverStatus.BadArgument"/>.
    /// </summary>
    public int Submit(byte opcode, ulong lba, byte* data, uint length)
    {
        bool hasData = opcode == NvmeIoOpcode.Read || opcode == NvmeIoOpcode.Write;
        if (!hasData && opcode != NvmeIoOpcode.Flush)
            return DriverStatus.BadArgument;
        if (hasData && (length == 0 || length % 512 != 0 || length > TransferLimit || data == null || ((ulong)data & 3) != 0))
            return DriverStatus.BadArgument;
        if (hasData && (lba > Capacity || length / 512 > Capacity - lba))
            return DriverStatus.OutOfRange;
        if (_freeSlotCount == 0)
            return DriverStatus.QueueFull;
        int slot = _freeSlots[--_freeSlotCount];
        _generation++;
        ushort id = (ushort)(slot | (_generation << SlotBits));
        _commandIdOfSlot[slot] = id;

        NvmeSubmissionEntry* entry = _sq + _sqTail;
        *entry = default;
        entry->Opcode = opcode;
        entry->CommandId = id;
        entry->NamespaceId = 1;
        if (hasData)
        {
            entry->Prp1 = (ulong)data;
            entry->Prp2 = SecondPrp((ulong)data, length, _prpLists + (ulong)slot * (PageSize / 8));
            entry->Cdw10 = (uint)lba;
            entry->Cdw11 = (uint)(lba >> 32);
            entry->Cdw12 = length / 512 - 1;
        }
        _sqTail = (_sqTail + 1) % IoQueueEntries;
        _unsubmitted++;
        return slot;
    }

    /// <summary>PRP2: nothing, the second page, or a PRP list (in <paramref name="list"/>) of the pages after the first.</summary>
    private static ulong SecondPrp(ulong data, uint length, ulong* list)
    {
        ulong firstBytes = PageSize - (data & (PageSize - 1));
        if (length <= firstBytes)
            return 0;
        ulong next = (data & ~(PageSize - 1)) + PageSize;
        if (length - firstBytes <= PageSize)
            return next;
        int n = 0;
        for (ulong covered = firstBytes; covered < length; covered += PageSize)
            list[n++] = next + (covered - firstBytes);
        return (ulong)list;
    }

    /// <summary>Writes the SQ tail doorbell once for every entry submitted since the last call (one exit; none when nothing is new).</summary>
    public void Kick()
    {
        if (_unsubmitted == 0)
            return;
        _unsubmitted = 0;
        Mmio.Write32(_bar + NvmeRegisters.SubmissionTailDoorbell(IoQueueId), _sqTail);
#if !PARAVIRT_PARA
        _awaitingInterrupt = _interrupts;
#endif
    }

    /// <summary>
    /// Takes one completion: returns 1 with its <paramref name="slot"/> and <paramref name="status"/>
    /// (0, <see cref="DriverStatus.OutOfRange"/> for LBA Out of Range, else
    /// <see cref="DriverStatus.DeviceError"/> with <see cref="LastDeviceStatus"/> set), 0 when no request
    /// is in flight, or a negative status. Polls the phase tag; when requests are in flight and no
    /// completion shows, the controller stopped early (its per-exit budget, or a full completion
    /// queue): the driver acknowledges what it reaped and rewrites the tail doorbell, so the
    /// controller continues, and polls again.
    /// </summary>
    public int Reap(out int slot, out int status)
    {
        slot = -1;
        status = DriverStatus.Ok;
        if (InFlight == 0)
            return 0;
        NvmeCompletionEntry* entry = _cq + _cqHead;
#if !PARAVIRT_PARA
        if (_awaitingInterrupt)
        {
            // Interrupt mode: the batch's completions are taken after its interrupt, as nvme_irq
            // takes them, never by peeking first (the emulated controller has posted them already,
            // inside the doorbell exit; a real one may not have).
            _awaitingInterrupt = false;
            Events.WaitForInterrupt(NvmeRegisters.InterruptLine);
        }
#endif
        int i = 0;
        for (; i < PollLimit; i++)
        {
            Mmio.Barrier();
            if (((entry->StatusAndPhase & NvmeCompletionEntry.PhaseBit) != 0) == _phase)
                break;
            if ((i & 63) == 63)
            {
                if ((Mmio.Read32(_bar + NvmeRegisters.Csts) & NvmeRegisters.CstsFatal) != 0)
                    return Fatal();
                Acknowledge();
                Mmio.Write32(_bar + NvmeRegisters.SubmissionTailDoorbell(IoQueueId), _sqTail);
            }
        }
        if (i == PollLimit)
            return DriverStatus.Timeout;
        Mmio.Barrier(); // the phase tag before the rest of the entry
        ushort id = entry->CommandId;
        ushort device = (ushort)(entry->StatusAndPhase >> 1);
        if (entry->SubmissionQueueId != IoQueueId)
            return DriverStatus.BadRing;
        int s = id & (QueueDepth - 1);
        if (_commandIdOfSlot[s] != id)
            return DriverStatus.BadRing; // not a request in flight
        _commandIdOfSlot[s] = 0xFFFF;
        _freeSlots[_freeSlotCount++] = s;
        _cqHead = (_cqHead + 1) % IoQueueEntries;
        if (_cqHead == 0)
            _phase = !_phase;
        _unacknowledged++;
        slot = s;
        if (device == NvmeStatus.Success)
            return 1;
        LastDeviceStatus = device;
        status = NvmeStatus.CodeOf(device) == NvmeStatus.CodeOf(NvmeStatus.LbaOutOfRange) ? DriverStatus.OutOfRange : DriverStatus.DeviceError;
        return 1;
    }

    /// <summary>Writes the CQ head doorbell once for every completion reaped since the last call (one exit; none when nothing is new).</summary>
    public void Acknowledge()
    {
        if (_unacknowledged == 0)
            return;
        _unacknowledged = 0;
        Mmio.Write32(_bar + NvmeRegisters.CompletionHeadDoorbell(IoQueueId), _cqHead);
    }

    /// <summary>One command synchronously: submit, kick, reap, acknowledge. Returns 0 or a negative status.</summary>
    public int Transfer(byte opcode, ulong lba, byte* data, uint length)
    {
        int slot = Submit(opcode, lba, data, length);
        if (slot < 0)
            return slot;
        Kick();
        int result = DriverStatus.Timeout;
        while (InFlight > 0)
        {
            int r = Reap(out int done, out int status);
            if (r < 0)
                return r;
            if (done == slot)
                result = status;
        }
        Acknowledge();
        return result;
    }

    /// <summary>Flush: makes every completed write durable. Returns 0 or a negative status.</summary>
    public int Flush() => Transfer(NvmeIoOpcode.Flush, 0, null, 0);

    private static void* AllocatePages(ulong bytes)
    {
        ulong raw = (ulong)BumpAllocator.Allocate(bytes + PageSize - 1);
        return (void*)((raw + PageSize - 1) & ~(PageSize - 1));
    }
}
