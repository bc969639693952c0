using System.Buffers.Binary;
using System.IO;
using ParaVirt.Abi.Nvme;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated.Nvme;

namespace ParaVirt.Devices.Emulated.Tests.Nvme;

/// <summary>
/// A controller on an MMIO bus over 4 MiB of guest memory and a 64-sector disk, and the driver side
/// a test plays: register accesses, admin and I/O queues at fixed guest addresses, submission
/// entries written into guest memory and completions read back by phase tag.
/// </summary>
internal sealed class NvmeHarness : IDisposable
{
    public const ulong Bar = NvmeRegisters.BarBase;
    public const ulong AdminSq = 0x10000, AdminCq = 0x11000, IoSq = 0x20000, IoCq = 0x30000, PrpLists = 0x40000, Data = 0x100000;
    public const ulong MemorySize = 4 << 20;
    public const ulong DiskSectors = 64;
    public const uint AdminEntries = 16;

    private readonly string _path;
    private uint _adminSqTail, _adminCqHead;
    private bool _adminPhase = true;
    private ushort _nextAdminId;

    public NvmeHarness(ulong diskSectors = DiskSectors)
    {
        Memory = GuestMemory.Create(MemorySize);
        _path = Path.Combine(Path.GetTempPath(), $"paravirt-nvme-{Guid.NewGuid():N}.img");
        Disk = DiskImage.Create(_path, diskSectors);
        Controller = new NvmeController(Memory, Disk);
        Bus = new IoBus("mmio");
        Bus.Register(Bar, NvmeRegisters.BarSize, Controller);
    }

    public GuestMemory Memory { get; }
    public DiskImage Disk { get; }
    public NvmeController Controller { get; }
    public IoBus Bus { get; }

    // I/O queue 1 as the test set it up.
    public uint IoSqSize { get; private set; }
    public uint IoCqSize { get; private set; }
    public uint IoSqTail;
    public uint IoCqHead;
    public bool IoPhase = true;

    public void Dispose()
    {
        Disk.Dispose();
        File.Delete(_path);
        Memory.Dispose();
    }

    public uint Read32(ulong offset)
    {
        Span<byte> data = stackalloc byte[4];
        Bus.Read(Bar + offset, data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    public ulong Read64(ulong offset)
    {
        Span<byte> data = stackalloc byte[8];
        Bus.Read(Bar + offset, data);
        return BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    public void Write32(ulong offset, uint value)
    {
        Span<byte> data = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, value);
        Bus.Write(Bar + offset, data);
    }

    public void Write64(ulong offset, ulong value)
    {
        Span<byte> data = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        Bus.Write(Bar + offset, data);
    }

    public uint Status => Read32(NvmeRegisters.Csts);

    /// <summary>Linux's sequence: disable, program AQA/ASQ/ACQ, enable, check RDY.</summary>
    public void Enable(uint adminEntries = AdminEntries, ulong asq = AdminSq, ulong acq = AdminCq, uint cc = NvmeRegisters.CcEnableValue)
    {
        Write32(NvmeRegisters.Cc, 0);
        Memory.TryFill(AdminCq, 4096, 0);
        Write32(NvmeRegisters.Aqa, (adminEntries - 1) << 16 | (adminEntries - 1));
        Write64(NvmeRegisters.Asq, asq);
        Write64(NvmeRegisters.Acq, acq);
        Write32(NvmeRegisters.Cc, cc);
        _adminSqTail = 0;
        _adminCqHead = 0;
        _adminPhase = true;
    }

    /// <summary>Writes an entry into a submission queue slot.</summary>
    public void Put(ulong queueBase, uint slot, in NvmeSubmissionEntry entry) =>
        Assert.That(Memory.TryWrite(queueBase + slot * (ulong)NvmeSubmissionEntry.Size, entry), Is.True);

    public NvmeCompletionEntry CompletionAt(ulong queueBase, uint slot)
    {
        Assert.That(Memory.TryRead(queueBase + slot * (ulong)NvmeCompletionEntry.Size, out NvmeCompletionEntry entry), Is.True);
        return entry;
    }

    public static ushort StatusOf(NvmeCompletionEntry entry) => (ushort)(entry.StatusAndPhase >> 1);

    public static bool PhaseOf(NvmeCompletionEntry entry) => (entry.StatusAndPhase & NvmeCompletionEntry.PhaseBit) != 0;

    /// <summary>Submits one admin command and returns its completion (asserting that one was posted).</summary>
    public NvmeCompletionEntry Admin(NvmeSubmissionEntry entry)
    {
        entry.CommandId = _nextAdminId++;
        Put(AdminSq, _adminSqTail, entry);
        _adminSqTail = (_adminSqTail + 1) % AdminEntries;
        Write32(NvmeRegisters.SubmissionTailDoorbell(0), _adminSqTail);
        NvmeCompletionEntry completion = CompletionAt(AdminCq, _adminCqHead);
        Assert.That(PhaseOf(completion), Is.EqualTo(_adminPhase), "no admin completion posted");
        Assert.That(completion.CommandId, Is.EqualTo(entry.CommandId));
        Assert.That(completion.SubmissionQueueId, Is.Zero);
        _adminCqHead = (_adminCqHead + 1) % AdminEntries;
        if (_adminCqHead == 0)
            _adminPhase = !_adminPhase;
        Write32(NvmeRegisters.CompletionHeadDoorbell(0), _adminCqHead);
        return completion;
    }

    public ushort AdminStatus(NvmeSubmissionEntry entry) => StatusOf(Admin(entry));

    public static NvmeSubmissionEntry CreateCq(ushort id, uint entries, ulong address, bool interrupts = false, ushort vector = 0) => new()
    {
        Opcode = NvmeAdminOpcode.CreateIoCompletionQueue,
        Prp1 = address,
        Cdw10 = id | (entries - 1) << 16,
        Cdw11 = 1u | (interrupts ? 2u : 0u) | (uint)vector << 16,
    };

    public static NvmeSubmissionEntry CreateSq(ushort id, uint entries, ulong address, ushort cq) => new()
    {
        Opcode = NvmeAdminOpcode.CreateIoSubmissionQueue,
        Prp1 = address,
        Cdw10 = id | (entries - 1) << 16,
        Cdw11 = 1u | (uint)cq << 16,
    };

    /// <summary>Enables the controller and creates I/O queue pair 1.</summary>
    public void EnableWithIoQueues(uint sqEntries = 64, uint cqEntries = 64, bool interrupts = false)
    {
        Enable();
        Assert.That(Status & NvmeRegisters.CstsReady, Is.EqualTo(NvmeRegisters.CstsReady));
        Memory.TryFill(IoCq, cqEntries * 16UL, 0);
        Assert.That(AdminStatus(CreateCq(1, cqEntries, IoCq, interrupts)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(AdminStatus(CreateSq(1, sqEntries, IoSq, 1)), Is.EqualTo(NvmeStatus.Success));
        IoSqSize = sqEntries;
        IoCqSize = cqEntries;
        IoSqTail = 0;
        IoCqHead = 0;
        IoPhase = true;
    }

    public static NvmeSubmissionEntry Io(byte opcode, ushort id, ulong lba, uint blocks, ulong prp1, ulong prp2 = 0, uint nsid = 1) => new()
    {
        Opcode = opcode,
        CommandId = id,
        NamespaceId = nsid,
        Prp1 = prp1,
        Prp2 = prp2,
        Cdw10 = (uint)lba,
        Cdw11 = (uint)(lba >> 32),
        Cdw12 = blocks - 1,
    };

    /// <summary>Places <paramref name="entry"/> at the I/O tail (no doorbell).</summary>
    public void Queue(in NvmeSubmissionEntry entry)
    {
        Put(IoSq, IoSqTail, entry);
        IoSqTail = (IoSqTail + 1) % IoSqSize;
    }

    public void RingIoSq() => Write32(NvmeRegisters.SubmissionTailDoorbell(1), IoSqTail);

    /// <summary>Takes the next I/O completion if its phase says it is new.</summary>
    public bool TryTakeIo(out NvmeCompletionEntry completion)
    {
        completion = CompletionAt(IoCq, IoCqHead);
        if (PhaseOf(completion) != IoPhase)
            return false;
        IoCqHead = (IoCqHead + 1) % IoCqSize;
        if (IoCqHead == 0)
            IoPhase = !IoPhase;
        return true;
    }

    public void RingIoCq() => Write32(NvmeRegisters.CompletionHeadDoorbell(1), IoCqHead);

    /// <summary>Submits one I/O command, rings, takes its completion, rings the head doorbell; returns its status.</summary>
    public ushort RunIo(NvmeSubmissionEntry entry)
    {
        Queue(entry);
        RingIoSq();
        Assert.That(TryTakeIo(out NvmeCompletionEntry completion), Is.True, "no I/O completion posted");
        Assert.That(completion.CommandId, Is.EqualTo(entry.CommandId));
        RingIoCq();
        return StatusOf(completion);
    }

    public byte[] Pattern(int bytes, int seed)
    {
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        return data;
    }

    public byte[] DiskBytes(ulong sector, int sectors)
    {
        var data = new byte[sectors * 512];
        Assert.That(Disk.TryRead(sector, data), Is.True);
        return data;
    }

    public byte[] GuestBytes(ulong address, int length)
    {
        var data = new byte[length];
        Assert.That(Memory.TryRead(address, data), Is.True);
        return data;
    }
}
