using System;
using System.Buffers.Binary;
using ParaVirt.Abi.Nvme;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>
/// An emulated NVMe controller (NVMe base specification 1.4) over a <see cref="DiskImage"/>, with
/// the subset a minimal driver needs: the registers CAP, VS, INTMS/INTMC, CC (enable, shutdown),
/// CSTS (RDY, CFS, SHST), AQA, ASQ, ACQ; doorbells from 0x1000 with a 4-byte stride; an admin queue
/// (<see cref="NvmeAdminCommands"/>); up to <see cref="IoQueuePairs"/> I/O queue pairs carrying
/// Read, Write and Flush (<see cref="NvmeIoCommands"/>) with PRP1/PRP2 and PRP lists
/// (<see cref="PrpWalker"/>); completion by phase tag, optionally with an interrupt
/// (<see cref="InterruptRequested"/>). One namespace (ID 1) of 512-byte blocks.
/// Register it on the MMIO bus at <see cref="NvmeRegisters.BarBase"/>.
/// </summary>
/// <remarks>
/// <para><b>Synchronous processing.</b> Like the other emulated devices, the controller works on
/// the vCPU thread inside the MMIO exit of a doorbell write: a submission queue tail doorbell
/// makes it fetch, execute and complete the commands between head and tail; a completion queue
/// head doorbell frees entries and resumes commands that waited for room. A driver that submits
/// a batch, rings the tail doorbell once, polls the phase tags and rings the head doorbell once
/// makes two exits per batch. The work of one exit is bounded: at most
/// <see cref="MaxCommandsPerExit"/> commands and <see cref="ExitByteBudget"/> bytes moved (a command
/// moves at most <see cref="PrpWalker.MaxTransferBytes"/>), and the controller stops early when the
/// VM is stopping (<see cref="StopRequested"/>). Commands left over stay in their submission
/// queues and continue at the next doorbell write, of any queue: a driver that finds fewer
/// completions than it submitted rewrites its tail doorbell with the same value.</para>
/// <para><b>Hostile drivers.</b> Everything the driver controls is validated:
/// queue sizes (2 to CAP.MQES + 1) and bases (page aligned, the whole ring inside guest memory)
/// when a queue is created or the controller enabled; PRPs (<see cref="PrpWalker"/>); LBA ranges;
/// opcodes; a command ID still in use in its submission queue (fetched, and its completion not yet
/// consumed through the head doorbell) completes with Command ID Conflict without running. A
/// completion queue is never overwritten: when it is full, commands bound for it wait in their
/// submission queues. An invalid doorbell write (a queue that does not exist, a tail at or past
/// the queue size, a head at or past the size or past the entries posted) has no completion to
/// report it on: NVMe reports it as an asynchronous event when the driver has one outstanding,
/// which this controller does not implement, and otherwise leaves the outcome to the controller.
/// This controller sets CSTS.CFS (<see cref="FatalError"/> says why) and processes nothing until
/// the driver resets it (CC.EN to 0), the NVMe counterpart of virtio's DEVICE_NEEDS_RESET. Nothing
/// here throws on guest input or allocates per access or per command.</para>
/// <para><b>Interrupts.</b> One pin-based vector (0). After an exit that posted completions to a
/// queue created with interrupts enabled (the admin completion queue always is), the controller
/// calls <see cref="InterruptRequested"/> once, unless INTMS masked the vector; clearing the mask
/// with INTMC while such completions are unconsumed calls it too. Polling drivers create their I/O
/// completion queues with interrupts disabled and mask the vector.</para>
/// </remarks>
/// <example><code>
/// var nvme = new NvmeController(vm.WritableMemory, disk) { StopRequested = () =&gt; vm.IsStopping };
/// vm.MmioBus.Register(NvmeRegisters.BarBase, NvmeRegisters.BarSize, nvme);
/// nvme.InterruptRequested = () =&gt; cpu.Raise(NvmeRegisters.InterruptLine);
/// </code></example>
public sealed class NvmeController : IBusDevice
{
    /// <summary>I/O submission/completion queue pairs offered (queue IDs 1 to 4).</summary>
    public const int IoQueuePairs = 4;

    /// <summary>The most commands one doorbell exit executes.</summary>
    public const int MaxCommandsPerExit = 256;

    /// <summary>The most bytes one doorbell exit moves between the disk and guest memory (4 MiB, as virtio-blk's notification budget).</summary>
    public const ulong ExitByteBudget = 4 << 20;

    private readonly GuestMemory _memory;
    private readonly DiskImage _disk;
    private readonly NvmeRegisterFile _registers = new();
    private readonly NvmeSubmissionQueue[] _submissionQueues = new NvmeSubmissionQueue[IoQueuePairs + 1];
    private readonly NvmeCompletionQueue[] _completionQueues = new NvmeCompletionQueue[IoQueuePairs + 1];
    private readonly NvmeAdminCommands _admin;
    private readonly NvmeIoCommands _io;
    private NvmeFatalError _fatal;
    private bool _ready, _shutDown;
    private long _doorbells, _commands, _deferred, _interrupts;

    /// <summary>Creates a disabled controller over <paramref name="disk"/>.</summary>
    /// <param name="memory">The guest memory the driver may name (the VM's writable view: completions and read data are written there).</param>
    /// <param name="disk">The disk behind namespace 1; the controller does not own it.</param>
    /// <param name="serial">Identify Controller serial number (20 ASCII characters kept).</param>
    /// <param name="model">Identify Controller model number (40 ASCII characters kept).</param>
    public NvmeController(GuestMemory memory, DiskImage disk, string serial = "PV00000001", string model = "PARAVIRT NVME DISK")
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(disk);
        ArgumentNullException.ThrowIfNull(serial);
        ArgumentNullException.ThrowIfNull(model);
        _memory = memory;
        _disk = disk;
        for (int i = 0; i <= IoQueuePairs; i++)
        {
            _submissionQueues[i] = new NvmeSubmissionQueue((ushort)i);
            _completionQueues[i] = new NvmeCompletionQueue((ushort)i, NvmeRegisterFile.MaxQueueEntries);
        }
        var walker = new PrpWalker(memory);
        _admin = new NvmeAdminCommands(memory, disk, walker, _submissionQueues, _completionQueues, serial, model, "1.0");
        _io = new NvmeIoCommands(memory, disk, walker);
    }

    /// <inheritdoc/>
    public string Name => "nvme0";

    /// <summary>The disk behind namespace 1.</summary>
    public DiskImage Disk => _disk;

    /// <summary>Called (on the vCPU thread) when completions were posted to a queue with interrupts enabled and the vector is not masked; null for none.</summary>
    public Action? InterruptRequested { get; set; }

    /// <summary>Whether the VM is stopping: the controller then stops between commands. Null: never.</summary>
    public Func<bool>? StopRequested { get; set; }

    /// <summary>Why CSTS.CFS is set, or <see cref="NvmeFatalError.None"/>. Sticky until a controller reset.</summary>
    public NvmeFatalError FatalError => _fatal;

    /// <summary>Whether CSTS.RDY is set (enabled and not fatal).</summary>
    public bool IsReady => _ready && _fatal == NvmeFatalError.None;

    /// <summary>Doorbell writes accepted (valid ones, of an enabled controller).</summary>
    public long Doorbells => _doorbells;

    /// <summary>Commands fetched and completed, admin and I/O.</summary>
    public long Commands => _commands;

    /// <summary>Exits that stopped with commands left (budget spent, or the VM stopping).</summary>
    public long DeferredExits => _deferred;

    /// <summary>Calls made to <see cref="InterruptRequested"/>.</summary>
    public long Interrupts => _interrupts;

    /// <summary>Register accesses that matched no register (wrong width, misaligned, reserved, doorbell reads).</summary>
    public long StrayAccesses => _registers.StrayAccesses;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        ulong value = offset < NvmeRegisters.DoorbellBase && data.Length is 4 or 8 ? _registers.Read(offset, data.Length) : Stray();
        if (data.Length == 8)
            BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        else if (data.Length == 4)
            BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)value);
        else
            data.Clear();
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset >= NvmeRegisters.DoorbellBase)
        {
            if (data.Length != 4 || (offset & 3) != 0)
            {
                Stray();
                return;
            }
            Doorbell(offset - NvmeRegisters.DoorbellBase, BinaryPrimitives.ReadUInt32LittleEndian(data));
            return;
        }
        ulong value = data.Length switch
        {
            8 => BinaryPrimitives.ReadUInt64LittleEndian(data),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(data),
            _ => 0,
        };
        if (data.Length is not (4 or 8))
        {
            Stray();
            return;
        }
        switch (_registers.Write(offset, data.Length, value))
        {
            case NvmeRegisterEffect.Configuration:
                ConfigurationChanged();
                break;
            case NvmeRegisterEffect.InterruptUnmasked:
                if (IsReady && HasUnconsumedInterruptCompletions())
                    RaiseInterrupt();
                break;
        }
    }

    private ulong Stray()
    {
        _registers.StrayAccesses++;
        return 0;
    }

    private void ConfigurationChanged()
    {
        uint cc = _registers.Configuration;
        bool enable = (cc & NvmeRegisters.CcEnable) != 0;
        if (!enable)
        {
            if (_ready || _fatal != NvmeFatalError.None || _shutDown)
                Reset();
            return;
        }
        if (!_ready && _fatal == NvmeFatalError.None)
            Enable(cc);
        if (_ready && ((cc >> NvmeRegisters.CcShnShift) & 3) != 0 && !_shutDown)
        {
            // Shutdown notification: nothing is cached; make completed writes durable, report complete.
            _disk.TryFlush();
            _shutDown = true;
            _registers.Status = (_registers.Status & ~(3u << NvmeRegisters.CstsShstShift)) | NvmeRegisters.CstsShutdownComplete;
        }
    }

    /// <summary>CC.EN 1 to 0: every queue deleted, CSTS cleared (RDY, CFS, SHST); AQA, ASQ, ACQ keep their values.</summary>
    private void Reset()
    {
        _admin.DeleteIoQueues();
        _submissionQueues[0].Deactivate();
        _completionQueues[0].Deactivate();
        _ready = false;
        _shutDown = false;
        _fatal = NvmeFatalError.None;
        uint cc = _registers.Configuration;
        _registers.ResetConfiguration(); // CSTS 0, the vector unmasked, as at power-on
        _registers.Configuration = cc;
    }

    /// <summary>CC.EN 0 to 1: checks CC and the admin queue, creates it, sets RDY; on a bad value sets CFS instead.</summary>
    private void Enable(uint cc)
    {
        if (((cc >> NvmeRegisters.CcCssShift) & 7) != 0 || ((cc >> NvmeRegisters.CcMpsShift) & 0xF) != 0 || ((cc >> NvmeRegisters.CcAmsShift) & 7) != 0
            || ((cc >> NvmeRegisters.CcIosqesShift) & 0xF) != 6 || ((cc >> NvmeRegisters.CcIocqesShift) & 0xF) != 4)
        {
            Fail(NvmeFatalError.UnsupportedConfiguration);
            return;
        }
        uint aqa = _registers.AdminQueueAttributes;
        uint sqSize = (aqa & 0xFFF) + 1, cqSize = ((aqa >> 16) & 0xFFF) + 1;
        if (sqSize < 2 || cqSize < 2 || sqSize > NvmeRegisterFile.MaxQueueEntries || cqSize > NvmeRegisterFile.MaxQueueEntries)
        {
            Fail(NvmeFatalError.InvalidAdminQueueSize);
            return;
        }
        ulong asq = _registers.AdminSubmissionQueue, acq = _registers.AdminCompletionQueue;
        const ulong pageMask = NvmeRegisters.PageSize - 1;
        if ((asq & pageMask) != 0 || (acq & pageMask) != 0
            || !_memory.IsValid(asq, sqSize * (ulong)NvmeSubmissionEntry.Size) || !_memory.IsValid(acq, cqSize * (ulong)NvmeCompletionEntry.Size))
        {
            Fail(NvmeFatalError.InvalidAdminQueueAddress);
            return;
        }
        _completionQueues[0].Activate(acq, cqSize, interruptsEnabled: true);
        _submissionQueues[0].Activate(asq, sqSize, completionQueueId: 0);
        _completionQueues[0].SubmissionQueues = 1;
        _ready = true;
        _registers.Status = NvmeRegisters.CstsReady;
    }

    private void Fail(NvmeFatalError error)
    {
        _fatal = error;
        _registers.Status |= NvmeRegisters.CstsFatal;
    }

    private void Doorbell(ulong offset, uint value)
    {
        if (!IsReady || _shutDown)
            return; // a disabled, failed or shut-down controller ignores doorbells
        ulong index = offset / NvmeRegisters.DoorbellStride;
        ulong id = index / 2;
        bool completion = (index & 1) != 0;
        if (id > IoQueuePairs || (completion ? !_completionQueues[id].IsActive : !_submissionQueues[id].IsActive))
        {
            Fail(NvmeFatalError.InvalidDoorbell);
            return;
        }
        if (completion)
        {
            if (!_completionQueues[id].TrySetHead(value, _submissionQueues))
            {
                Fail(NvmeFatalError.CompletionHeadOutOfRange);
                return;
            }
        }
        else if (!_submissionQueues[id].TrySetTail(value))
        {
            Fail(NvmeFatalError.SubmissionTailOutOfRange);
            return;
        }
        _doorbells++;
        Process();
    }

    /// <summary>
    /// Runs the commands waiting in every submission queue, round robin one command per queue per
    /// round (the admin queue first), within the exit's budget. A queue whose completion queue is
    /// full waits.
    /// </summary>
    private void Process()
    {
        int commands = 0;
        ulong moved = 0;
        bool interrupt = false;
        bool progress = true;
        while (progress)
        {
            progress = false;
            foreach (NvmeSubmissionQueue sq in _submissionQueues)
            {
                if (!sq.HasWork)
                    continue;
                NvmeCompletionQueue cq = _completionQueues[sq.CompletionQueueId];
                if (cq.IsFull)
                    continue;
                if (commands == MaxCommandsPerExit || moved > ExitByteBudget - PrpWalker.MaxTransferBytes || (StopRequested is { } stop && stop()))
                {
                    _deferred++;
                    progress = false;
                    break;
                }
                if (!RunOne(sq, cq, ref moved))
                    return;
                commands++;
                interrupt |= cq.InterruptsEnabled;
                progress = true;
            }
        }
        if (interrupt && !_registers.InterruptMasked)
            RaiseInterrupt();
    }

    /// <summary>Fetches, runs and completes the command at <paramref name="sq"/>'s head; false when guest memory is gone (fatal).</summary>
    private bool RunOne(NvmeSubmissionQueue sq, NvmeCompletionQueue cq, ref ulong moved)
    {
        if (!sq.TryFetch(_memory, out NvmeSubmissionEntry command))
        {
            Fail(NvmeFatalError.MemoryClosed);
            return false;
        }
        _commands++;
        ushort status;
        uint result = 0;
        bool tracked = false;
        if (sq.IsCommandIdInUse(command.CommandId))
            status = NvmeStatus.CommandIdConflict;
        else
        {
            sq.MarkCommandId(command.CommandId);
            tracked = true;
            if (command.Flags != 0)
                status = NvmeStatus.InvalidField; // fused operations and SGLs are not supported
            else if (sq.Id == 0)
                status = _admin.Execute(command, out result);
            else
                status = _io.Execute(command, ref moved);
        }
        // Invariant: sq and cq are still active: an admin command cannot delete the admin queues,
        // and an I/O command deletes nothing.
        if (!cq.TryPost(_memory, sq.Id, (ushort)sq.Head, command.CommandId, status, result, tracked))
        {
            Fail(NvmeFatalError.MemoryClosed);
            return false;
        }
        return true;
    }

    private bool HasUnconsumedInterruptCompletions()
    {
        foreach (NvmeCompletionQueue cq in _completionQueues)
            if (cq.IsActive && cq.InterruptsEnabled && cq.Pending > 0)
                return true;
        return false;
    }

    private void RaiseInterrupt()
    {
        if (InterruptRequested is { } raise)
        {
            _interrupts++;
            raise();
        }
    }
}
