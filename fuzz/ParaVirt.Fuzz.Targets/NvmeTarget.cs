using System;
using System.Buffers.Binary;
using ParaVirt.Abi.Nvme;
using ParaVirt.Core.Memory;
using ParaVirt.Devices.Emulated.Nvme;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// The NVMe controller (<see cref="NvmeController"/>) over a 32-sector disk file on a 256 KiB
/// <see cref="GuestMemory"/> whose guest view has a hole (0x20000-0x24000) and ends at 0x38000,
/// driven only through its MMIO registers and doorbells and writes into guest memory, as a hostile
/// driver would. Oracle: no exception escapes <see cref="NvmeController.Read"/> or
/// <see cref="NvmeController.Write"/>; memory outside the guest's view keeps its canary; an access
/// allocates at most <see cref="MaxAllocationPerAccess"/> bytes (bounded work); CSTS.CFS is set
/// exactly when <see cref="NvmeController.FatalError"/> says why, and writing CC.EN = 0 leaves CSTS
/// 0 (a reset always recovers); the disk file keeps its size, and a doorbell write changes only
/// sectors that some Write command (opcode 1, namespace 1) in guest memory names, before or after
/// the write (every submission entry is a 64-byte-aligned slot of a page-aligned ring, so the
/// harness scans every such slot: it needs no knowledge of where the driver put its queues).
/// </summary>
/// <remarks>
/// Input: a stream of ops (docs/fuzzing.md lists them): 32- and 64-bit register writes and reads
/// (the registers, or a raw offset in the BAR), doorbell writes (queue 0-5, SQ tail or CQ head, a
/// small or a raw value), raw bytes into memory, a submission entry written at any 64-byte slot,
/// a one-op bring-up (admin queue of 8, I/O queue pair 1 of 16 at fixed addresses), and raw
/// accesses of any width (1 to 8 bytes) and alignment. Addresses are a byte selector: 0xFF takes a
/// raw 64-bit address, anything else a 16-bit value times 4 (the whole mapping, canary included).
/// </remarks>
public sealed class NvmeTarget : IFuzzTarget
{
    /// <summary>The most one register access may allocate.</summary>
    public const long MaxAllocationPerAccess = 16 * 1024;

    private const ulong PhysicalSize = 0x40000;
    private const ulong HoleStart = 0x20000, HoleEnd = 0x24000, ViewEnd = 0x38000;
    private const byte CanaryByte = 0xC3;
    private const ulong DiskSectors = 32;
    private const int OpCount = 8;
    private const ulong AdminSq = 0x1000, AdminCq = 0x2000, IoCq = 0x3000, IoSq = 0x4000;

    private static readonly ulong[] Registers =
    [
        NvmeRegisters.Cap, NvmeRegisters.Vs, NvmeRegisters.Intms, NvmeRegisters.Intmc, NvmeRegisters.Cc,
        NvmeRegisters.Csts, NvmeRegisters.Aqa, NvmeRegisters.Asq, NvmeRegisters.Asq + 4, NvmeRegisters.Acq,
        NvmeRegisters.Acq + 4, NvmeRegisters.Cc, NvmeRegisters.Cc, // CC matters most
    ];

    private readonly GuestMemory _physical = GuestMemory.Create(PhysicalSize);
    private readonly GuestMemory _view;
    private readonly byte[] _before = new byte[PhysicalSize];
    private readonly ScratchDisk _disk = new(DiskSectors);
    private readonly byte[] _model;
    private readonly byte[] _after;
    private ushort _adminTail, _adminHead, _adminId;

    /// <summary>Creates the memory and the disk file once.</summary>
    public NvmeTarget()
    {
        _view = _physical.Restrict([(0, HoleStart), (HoleEnd, ViewEnd - HoleEnd)]);
        _model = new byte[_disk.Length + 1];
        _after = new byte[_disk.Length + 1];
    }

    /// <inheritdoc/>
    public string Name => "nvme";

    /// <inheritdoc/>
    public void Run(ReadOnlySpan<byte> input)
    {
        _physical.TryFill(0, PhysicalSize, 0);
        _physical.TryFill(HoleStart, HoleEnd - HoleStart, CanaryByte);
        _physical.TryFill(ViewEnd, PhysicalSize - ViewEnd, CanaryByte);
        _disk.Reset();
        _disk.Pattern.CopyTo(_model);
        _adminTail = _adminHead = _adminId = 0;
        var nvme = new NvmeController(_view, _disk.Image);
        nvme.InterruptRequested = static () => { };

        var reader = new FuzzInput(input);
        int ops = 0;
        while (!reader.End && ops++ < 10_000)
            Step(ref reader, nvme);
        CheckCanary();
    }

    private void Step(ref FuzzInput reader, NvmeController nvme)
    {
        Span<byte> bytes = stackalloc byte[8];
        switch (reader.U8() % OpCount)
        {
            case 0:
            {
                ulong offset = Register(ref reader);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes, reader.U32());
                Access(nvme, offset, bytes[..4], write: true);
                break;
            }
            case 1:
            {
                ulong offset = Register(ref reader);
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, reader.U64());
                Access(nvme, offset, bytes, write: true);
                break;
            }
            case 2:
                Access(nvme, Register(ref reader), (reader.U8() & 1) != 0 ? bytes : bytes[..4], write: false);
                break;
            case 3:
            {
                byte which = reader.U8();
                uint queue = (uint)((which & 0x3F) % 6);
                bool completion = (which & 0x80) != 0;
                uint value = (which & 0x40) != 0 ? reader.U32() : reader.U8() % 20u;
                BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
                Access(nvme, completion ? NvmeRegisters.CompletionHeadDoorbell(queue) : NvmeRegisters.SubmissionTailDoorbell(queue), bytes[..4], write: true);
                break;
            }
            case 4:
            {
                ulong address = Address(ref reader);
                _view.TryWrite(address, reader.Bytes(reader.U8()));
                break;
            }
            case 5:
            {
                ulong slot = (reader.U16() * 64UL) % PhysicalSize;
                byte kind = reader.U8();
                var entry = new NvmeSubmissionEntry
                {
                    Opcode = reader.U8(),
                    Flags = (kind & 0x80) != 0 ? reader.U8() : (byte)0,
                    CommandId = reader.U16(),
                    NamespaceId = (kind & 0x40) != 0 ? reader.U32() : 1,
                    Prp1 = Address(ref reader),
                    Prp2 = Address(ref reader),
                    Cdw10 = (kind & 0x20) != 0 ? reader.U32() : reader.U8(),
                    Cdw11 = (kind & 0x10) != 0 ? reader.U32() : 0,
                    Cdw12 = (kind & 0x08) != 0 ? reader.U32() : reader.U8(),
                };
                _view.TryWrite(slot, entry);
                break;
            }
            case 6:
                BringUp(nvme, reader.U8());
                break;
            default:
            {
                // Any width, any offset in the BAR (stray accesses included), read or write.
                byte shape = reader.U8();
                int size = 1 + (shape & 7);
                ulong offset = reader.U16() % NvmeRegisters.BarSize;
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, reader.U64());
                Access(nvme, offset, bytes[..size], write: (shape & 8) != 0);
                break;
            }
        }
    }

    /// <summary>
    /// Disable, an admin queue of 8 (ASQ 0x1000, ACQ 0x2000), enable, then Create I/O CQ 1 (16
    /// entries at 0x3000, interrupts when bit 0 of <paramref name="flags"/>) and SQ 1 (16 at 0x4000),
    /// each rung and acknowledged; as a driver would, through the same accesses as any other op.
    /// </summary>
    private void BringUp(NvmeController nvme, byte flags)
    {
        Write32(nvme, NvmeRegisters.Cc, 0);
        Write32(nvme, NvmeRegisters.Aqa, 7u << 16 | 7u);
        Write64(nvme, NvmeRegisters.Asq, AdminSq);
        Write64(nvme, NvmeRegisters.Acq, AdminCq);
        Write32(nvme, NvmeRegisters.Cc, NvmeRegisters.CcEnableValue);
        _view.TryFill(AdminCq, 8 * 16, 0);
        _adminTail = _adminHead = 0;
        Admin(nvme, new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.CreateIoCompletionQueue, Prp1 = IoCq, Cdw10 = 1u | 15u << 16, Cdw11 = 1u | ((flags & 1) != 0 ? 2u : 0u) });
        Admin(nvme, new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.CreateIoSubmissionQueue, Prp1 = IoSq, Cdw10 = 1u | 15u << 16, Cdw11 = 1u | 1u << 16 });
    }

    private void Admin(NvmeController nvme, NvmeSubmissionEntry command)
    {
        command.CommandId = _adminId++;
        _view.TryWrite(AdminSq + 64UL * _adminTail, command);
        _adminTail = (ushort)((_adminTail + 1) % 8);
        Write32(nvme, NvmeRegisters.SubmissionTailDoorbell(0), _adminTail);
        _adminHead = (ushort)((_adminHead + 1) % 8);
        Write32(nvme, NvmeRegisters.CompletionHeadDoorbell(0), _adminHead);
    }

    private void Write32(NvmeController nvme, ulong offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Access(nvme, offset, bytes, write: true);
    }

    private void Write64(NvmeController nvme, ulong offset, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        Access(nvme, offset, bytes, write: true);
    }

    /// <summary>One register access under the oracle.</summary>
    private void Access(NvmeController nvme, ulong offset, Span<byte> data, bool write)
    {
        bool doorbell = write && offset >= NvmeRegisters.DoorbellBase;
        if (doorbell)
            _physical.TryRead(0, _before);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            if (write)
                nvme.Write(offset, data);
            else
                nvme.Read(offset, data);
        }
        catch (Exception ex)
        {
            throw new OracleViolationException($"{(write ? "write" : "read")} of {data.Length} bytes at BAR+0x{offset:x} threw {ex.GetType().Name}: {ex.Message}", ex);
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        OracleViolationException.Check(allocated <= MaxAllocationPerAccess, $"an access at BAR+0x{offset:x} allocated {allocated} bytes");

        Span<byte> register = stackalloc byte[4];
        nvme.Read(NvmeRegisters.Csts, register);
        uint status = BinaryPrimitives.ReadUInt32LittleEndian(register);
        nvme.Read(NvmeRegisters.Cc, register);
        uint cc = BinaryPrimitives.ReadUInt32LittleEndian(register);
        OracleViolationException.Check(((status & NvmeRegisters.CstsFatal) != 0) == (nvme.FatalError != NvmeFatalError.None),
            $"CSTS is 0x{status:x} but FatalError is {nvme.FatalError}");
        // CC.EN = 0 is a reset: it clears RDY, CFS and SHST at once (a driver can always recover).
        OracleViolationException.Check((cc & NvmeRegisters.CcEnable) != 0 || status == 0, $"CSTS is 0x{status:x} with CC.EN clear (CC 0x{cc:x})");
        if (doorbell)
            CheckDisk();
    }

    /// <summary>The disk keeps its size; a changed sector must be named by a Write command in some 64-byte slot of guest memory before or after the doorbell.</summary>
    private void CheckDisk()
    {
        long length = _disk.Snapshot(_after);
        OracleViolationException.Check(length == _disk.Length, $"the disk file is {length} bytes, not {_disk.Length}");
        Span<byte> after = _after.AsSpan(0, _disk.Length);
        if (after.SequenceEqual(_model.AsSpan(0, _disk.Length)))
            return;
        _physical.TryGetSpan(0, PhysicalSize, out Span<byte> now);
        for (int sector = 0; sector < (int)DiskSectors; sector++)
        {
            if (after.Slice(sector * 512, 512).SequenceEqual(_model.AsSpan(sector * 512, 512)))
                continue;
            OracleViolationException.Check(NamedByAWrite(_before, (ulong)sector) || NamedByAWrite(now, (ulong)sector),
                $"disk sector {sector} changed but no Write command in guest memory names it");
        }
        after.CopyTo(_model);
    }

    private static bool NamedByAWrite(ReadOnlySpan<byte> memory, ulong sector)
    {
        for (int slot = 0; slot + NvmeSubmissionEntry.Size <= memory.Length; slot += NvmeSubmissionEntry.Size)
        {
            ReadOnlySpan<byte> e = memory.Slice(slot, NvmeSubmissionEntry.Size);
            if (e[0] != NvmeIoOpcode.Write || BinaryPrimitives.ReadUInt32LittleEndian(e[4..]) != 1)
                continue;
            ulong lba = BinaryPrimitives.ReadUInt64LittleEndian(e[40..]); // CDW10 | CDW11 << 32
            ulong blocks = (BinaryPrimitives.ReadUInt32LittleEndian(e[48..]) & 0xFFFF) + 1UL;
            if (sector >= lba && sector - lba < blocks)
                return true;
        }
        return false;
    }

    private void CheckCanary()
    {
        foreach ((ulong start, ulong end) in (ReadOnlySpan<(ulong, ulong)>)[(HoleStart, HoleEnd), (ViewEnd, PhysicalSize)])
        {
            _physical.TryGetSpan(start, end - start, out Span<byte> span);
            int changed = span.IndexOfAnyExcept(CanaryByte);
            OracleViolationException.Check(changed < 0, $"the controller wrote outside the guest's view at 0x{start + (ulong)changed:x}");
        }
    }

    private static ulong Register(ref FuzzInput reader)
    {
        byte selector = reader.U8();
        return selector == 0xFF ? reader.U16() % NvmeRegisters.BarSize : Registers[selector % Registers.Length];
    }

    private static ulong Address(ref FuzzInput reader)
    {
        byte selector = reader.U8();
        return selector == 0xFF ? reader.U64() : (ulong)(reader.U16() * 4u) % PhysicalSize;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _disk.Dispose();
        _physical.Dispose();
    }
}
