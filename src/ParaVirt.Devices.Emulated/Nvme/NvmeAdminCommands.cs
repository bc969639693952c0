using System;
using ParaVirt.Abi.Nvme;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>
/// The admin command set the minimal driver needs (NVMe 1.4, §5): Identify (controller, namespace,
/// active namespace list), Create/Delete I/O Completion Queue, Create/Delete I/O Submission Queue,
/// Set/Get Features (Number of Queues, Volatile Write Cache). Anything else completes with Invalid
/// Command Opcode. Every field the driver controls is checked before it is used; a bad one is a
/// completion status, never a fatal controller state. Allocates nothing per command.
/// </summary>
internal sealed class NvmeAdminCommands
{
    private readonly GuestMemory _memory;
    private readonly DiskImage _disk;
    private readonly PrpWalker _walker;
    private readonly NvmeSubmissionQueue[] _submissionQueues;
    private readonly NvmeCompletionQueue[] _completionQueues;
    private readonly byte[] _page = new byte[NvmeIdentifyLayout.Size];
    private readonly string _serial, _model, _firmware;

    public NvmeAdminCommands(GuestMemory memory, DiskImage disk, PrpWalker walker, NvmeSubmissionQueue[] submissionQueues,
        NvmeCompletionQueue[] completionQueues, string serial, string model, string firmware)
    {
        _memory = memory;
        _disk = disk;
        _walker = walker;
        _submissionQueues = submissionQueues;
        _completionQueues = completionQueues;
        _serial = serial;
        _model = model;
        _firmware = firmware;
    }

    /// <summary>I/O queue pairs the controller offers (queue IDs 1 to this).</summary>
    public int IoQueues => _submissionQueues.Length - 1;

    /// <summary>Whether the driver enabled the volatile write cache feature (reported back; writes are synchronous either way).</summary>
    public bool WriteCacheEnabled { get; private set; } = true;

    /// <summary>Runs one admin command; returns its status and the completion's dword 0.</summary>
    public ushort Execute(in NvmeSubmissionEntry command, out uint result)
    {
        result = 0;
        switch (command.Opcode)
        {
            case NvmeAdminOpcode.Identify: return Identify(command);
            case NvmeAdminOpcode.CreateIoCompletionQueue: return CreateCompletionQueue(command);
            case NvmeAdminOpcode.CreateIoSubmissionQueue: return CreateSubmissionQueue(command);
            case NvmeAdminOpcode.DeleteIoSubmissionQueue: return DeleteSubmissionQueue(command);
            case NvmeAdminOpcode.DeleteIoCompletionQueue: return DeleteCompletionQueue(command);
            case NvmeAdminOpcode.SetFeatures: return SetFeatures(command, out result);
            case NvmeAdminOpcode.GetFeatures: return GetFeatures(command, out result);
            default: return NvmeStatus.InvalidOpcode;
        }
    }

    /// <summary>Deletes every I/O queue (controller reset).</summary>
    public void DeleteIoQueues()
    {
        for (int i = 1; i < _submissionQueues.Length; i++)
        {
            _submissionQueues[i].Deactivate();
            _completionQueues[i].Deactivate();
        }
        WriteCacheEnabled = true;
    }

    private ushort Identify(in NvmeSubmissionEntry command)
    {
        byte cns = (byte)command.Cdw10;
        Span<byte> page = _page;
        switch (cns)
        {
            case NvmeAdminOpcode.IdentifyController:
                NvmeIdentify.Controller(page, _serial, _model, _firmware, (int)NvmeRegisterFile.MaxQueueEntries);
                break;
            case NvmeAdminOpcode.IdentifyNamespace:
                if (command.NamespaceId != 1)
                    return NvmeStatus.InvalidNamespace;
                NvmeIdentify.Namespace(page, _disk.SectorCount);
                break;
            case NvmeAdminOpcode.IdentifyActiveNamespaces:
                if (command.NamespaceId >= 0xFFFF_FFFE)
                    return NvmeStatus.InvalidNamespace;
                NvmeIdentify.ActiveNamespaces(page, command.NamespaceId);
                break;
            default:
                return NvmeStatus.InvalidField;
        }
        ushort status = _walker.Walk(command.Prp1, command.Prp2, NvmeIdentifyLayout.Size);
        if (status != NvmeStatus.Success)
            return status;
        ReadOnlySpan<byte> source = page;
        foreach (PrpSegment segment in _walker.Segments)
        {
            if (!_memory.TryWrite(segment.Address, source[..(int)segment.Length]))
                return NvmeStatus.DataTransferError;
            source = source[(int)segment.Length..];
        }
        return NvmeStatus.Success;
    }

    /// <summary>Checks a new I/O queue's ID, size (0-based in CDW10 bits 31:16), contiguity and base; returns its size.</summary>
    private ushort CheckNewQueue(in NvmeSubmissionEntry command, bool completion, out ushort id, out uint size)
    {
        id = (ushort)command.Cdw10;
        size = (command.Cdw10 >> 16) + 1;
        bool exists = completion ? id < _completionQueues.Length && _completionQueues[id].IsActive : id < _submissionQueues.Length && _submissionQueues[id].IsActive;
        if (id == 0 || id > IoQueues || exists)
            return NvmeStatus.InvalidQueueIdentifier;
        if (size < 2 || size > NvmeRegisterFile.MaxQueueEntries)
            return NvmeStatus.InvalidQueueSize;
        if ((command.Cdw11 & 1) == 0)
            return NvmeStatus.InvalidField; // CAP.CQR: physically contiguous queues only
        if ((command.Prp1 & (NvmeRegisters.PageSize - 1)) != 0)
            return NvmeStatus.PrpOffsetInvalid;
        ulong bytes = size * (ulong)(completion ? NvmeCompletionEntry.Size : NvmeSubmissionEntry.Size);
        if (!_memory.IsValid(command.Prp1, bytes))
            return NvmeStatus.InvalidField;
        return NvmeStatus.Success;
    }

    private ushort CreateCompletionQueue(in NvmeSubmissionEntry command)
    {
        ushort status = CheckNewQueue(command, completion: true, out ushort id, out uint size);
        if (status != NvmeStatus.Success)
            return status;
        bool interrupts = (command.Cdw11 & 2) != 0;
        if (interrupts && command.Cdw11 >> 16 != 0)
            return NvmeStatus.InvalidInterruptVector; // one pin-based vector, number 0
        _completionQueues[id].Activate(command.Prp1, size, interrupts);
        return NvmeStatus.Success;
    }

    private ushort CreateSubmissionQueue(in NvmeSubmissionEntry command)
    {
        ushort status = CheckNewQueue(command, completion: false, out ushort id, out uint size);
        if (status != NvmeStatus.Success)
            return status;
        ushort cq = (ushort)(command.Cdw11 >> 16);
        if (cq == 0 || cq >= _completionQueues.Length || !_completionQueues[cq].IsActive)
            return NvmeStatus.CompletionQueueInvalid;
        _submissionQueues[id].Activate(command.Prp1, size, cq);
        _completionQueues[cq].SubmissionQueues++;
        return NvmeStatus.Success;
    }

    private ushort DeleteSubmissionQueue(in NvmeSubmissionEntry command)
    {
        ushort id = (ushort)command.Cdw10;
        if (id == 0 || id > IoQueues || !_submissionQueues[id].IsActive)
            return NvmeStatus.InvalidQueueIdentifier;
        NvmeSubmissionQueue queue = _submissionQueues[id];
        NvmeCompletionQueue cq = _completionQueues[queue.CompletionQueueId];
        cq.Untrack(id);
        cq.SubmissionQueues--;
        queue.Deactivate();
        return NvmeStatus.Success;
    }

    private ushort DeleteCompletionQueue(in NvmeSubmissionEntry command)
    {
        ushort id = (ushort)command.Cdw10;
        if (id == 0 || id > IoQueues || !_completionQueues[id].IsActive)
            return NvmeStatus.InvalidQueueIdentifier;
        if (_completionQueues[id].SubmissionQueues > 0)
            return NvmeStatus.InvalidQueueDeletion;
        _completionQueues[id].Deactivate();
        return NvmeStatus.Success;
    }

    private uint QueueCounts => (uint)(IoQueues - 1) | ((uint)(IoQueues - 1) << 16);

    private ushort SetFeatures(in NvmeSubmissionEntry command, out uint result)
    {
        result = 0;
        switch ((byte)command.Cdw10)
        {
            case NvmeAdminOpcode.FeatureNumberOfQueues:
                // 0-based counts; FFFFh is reserved. The controller allocates what it has, whatever was asked.
                if ((command.Cdw11 & 0xFFFF) == 0xFFFF || command.Cdw11 >> 16 == 0xFFFF)
                    return NvmeStatus.InvalidField;
                result = QueueCounts;
                return NvmeStatus.Success;
            case NvmeAdminOpcode.FeatureVolatileWriteCache:
                WriteCacheEnabled = (command.Cdw11 & 1) != 0;
                return NvmeStatus.Success;
            default:
                return NvmeStatus.InvalidField;
        }
    }

    private ushort GetFeatures(in NvmeSubmissionEntry command, out uint result)
    {
        result = 0;
        switch ((byte)command.Cdw10)
        {
            case NvmeAdminOpcode.FeatureNumberOfQueues:
                result = QueueCounts;
                return NvmeStatus.Success;
            case NvmeAdminOpcode.FeatureVolatileWriteCache:
                result = WriteCacheEnabled ? 1u : 0u;
                return NvmeStatus.Success;
            default:
                return NvmeStatus.InvalidField;
        }
    }
}
