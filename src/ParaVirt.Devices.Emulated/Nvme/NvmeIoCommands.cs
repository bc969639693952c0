using System;
using ParaVirt.Abi.Nvme;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>
/// The NVM command set subset (NVMe 1.4, §6): Read, Write and Flush on namespace 1, 512-byte
/// blocks. Checks, in order: the namespace (Invalid Namespace or Format), the transfer size against
/// MDTS (Invalid Field), the LBA range against the disk (LBA Out of Range, overflow-safe), a write
/// to a read-only disk (Namespace Write Protected), the PRPs (<see cref="PrpWalker"/>). A host I/O
/// failure completes with Internal Error. Unknown opcodes complete with Invalid Command Opcode.
/// Allocates nothing per command.
/// </summary>
internal sealed class NvmeIoCommands
{
    private readonly GuestMemory _memory;
    private readonly DiskImage _disk;
    private readonly PrpWalker _walker;
    private readonly byte[] _bounce = new byte[DiskImage.SectorSize];

    public NvmeIoCommands(GuestMemory memory, DiskImage disk, PrpWalker walker)
    {
        _memory = memory;
        _disk = disk;
        _walker = walker;
    }

    /// <summary>Runs one I/O command; adds the bytes it moves to <paramref name="moved"/>.</summary>
    public ushort Execute(in NvmeSubmissionEntry command, ref ulong moved)
    {
        switch (command.Opcode)
        {
            case NvmeIoOpcode.Read:
            case NvmeIoOpcode.Write:
                return Transfer(command, command.Opcode == NvmeIoOpcode.Write, ref moved);
            case NvmeIoOpcode.Flush:
                if (command.NamespaceId != 1 && command.NamespaceId != 0xFFFF_FFFF)
                    return NvmeStatus.InvalidNamespace;
                return _disk.TryFlush() ? NvmeStatus.Success : NvmeStatus.InternalError;
            default:
                return NvmeStatus.InvalidOpcode;
        }
    }

    private ushort Transfer(in NvmeSubmissionEntry command, bool write, ref ulong moved)
    {
        if (command.NamespaceId != 1)
            return NvmeStatus.InvalidNamespace;
        ulong lba = command.Cdw10 | ((ulong)command.Cdw11 << 32);
        uint blocks = (command.Cdw12 & 0xFFFF) + 1;
        ulong bytes = (ulong)blocks * DiskImage.SectorSize;
        if (bytes > PrpWalker.MaxTransferBytes)
            return NvmeStatus.InvalidField;
        if (!_disk.Contains(lba, blocks))
            return NvmeStatus.LbaOutOfRange;
        if (write && _disk.ReadOnly)
            return NvmeStatus.WriteProtected;
        ushort status = _walker.Walk(command.Prp1, command.Prp2, (uint)bytes);
        if (status != NvmeStatus.Success)
            return status;
        moved += bytes;
        bool ok = write
            ? NvmeDataTransfer.ToDisk(_disk, _memory, _walker.Segments, lba, _bounce)
            : NvmeDataTransfer.FromDisk(_disk, _memory, _walker.Segments, lba, _bounce);
        return ok ? NvmeStatus.Success : NvmeStatus.InternalError;
    }
}
