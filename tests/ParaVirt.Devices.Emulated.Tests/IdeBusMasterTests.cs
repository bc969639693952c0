using System.IO;
using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated.Ata;
using ParaVirt.Devices.Emulated.Ide;

namespace ParaVirt.Devices.Emulated.Tests;

/// <summary>
/// The PIIX bus-master function over the ATA drive: register semantics, READ/WRITE DMA along PRD
/// tables, and every hostile table and sequence ending in a defined status without touching memory
/// outside the guest's.
/// </summary>
public sealed class IdeBusMasterTests
{
    private const ushort Count = 0x1F2, LbaLow = 0x1F3, LbaMid = 0x1F4, LbaHigh = 0x1F5, Device = 0x1F6, Status = 0x1F7, Command = 0x1F7, Error = 0x1F1, Control = 0x3F6;
    private const ushort BmCommand = IdeBusMasterRegisters.Command, BmStatus = IdeBusMasterRegisters.Status, BmTable = IdeBusMasterRegisters.PrdTableAddress;
    private const byte Start = IdeBusMasterRegisters.CommandStart, ToMemory = IdeBusMasterRegisters.CommandToMemory;
    private const byte Active = IdeBusMasterRegisters.StatusActive, BmError = IdeBusMasterRegisters.StatusError, Interrupt = IdeBusMasterRegisters.StatusInterrupt;
    private const ulong DiskSectors = 512, MemorySize = 1 << 20, Table = 0x1000, Buffer = 0x20000;

    private string _path = null!;
    private DiskImage _image = null!;
    private GuestMemory _memory = null!;
    private AtaPioDisk _drive = null!;
    private IdeBusMaster _bm = null!;
    private PortIo _io = null!;

    [SetUp]
    public void SetUp()
    {
        _path = Path.Combine(Path.GetTempPath(), $"paravirt-ide-{Guid.NewGuid():N}.img");
        _image = DiskImage.Create(_path, DiskSectors);
        var sector = new byte[512];
        for (ulong s = 0; s < DiskSectors; s++)
        {
            Fill(sector, s);
            Assert.That(_image.TryWrite(s, sector), Is.True);
        }
        _memory = GuestMemory.Create(MemorySize);
        _drive = new AtaPioDisk(_image);
        _bm = new IdeBusMaster(_drive, _memory);
        var bus = new IoBus("pio");
        bus.Register(AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength, _drive);
        bus.Register(AtaPioDisk.ControlBlockPort, 1, _drive.ControlBlock);
        bus.Register(IdeBusMasterRegisters.Base, IdeBusMasterRegisters.Length, _bm);
        _io = new PortIo(bus);
    }

    [TearDown]
    public void TearDown()
    {
        _memory.Dispose();
        _image.Dispose();
        File.Delete(_path);
    }

    private static void Fill(Span<byte> sector, ulong s)
    {
        for (int i = 0; i < sector.Length; i++)
            sector[i] = (byte)(s * 7 + (ulong)i * 13 + 1);
    }

    private void Prd(int index, uint address, uint byteCount, bool last, ulong table = Table)
    {
        ulong entry = address | ((ulong)(byteCount | (last ? IdeBusMasterRegisters.PrdEndOfTable : 0)) << 32);
        Assert.That(_memory.TryWrite(table + (ulong)index * 8, entry), Is.True);
    }

    private void Taskfile(byte command, uint lba, byte count)
    {
        _io.Out8(Device, (byte)(0xE0 | (lba >> 24 & 0x0F)));
        _io.Out8(Count, count);
        _io.Out8(LbaLow, (byte)lba);
        _io.Out8(LbaMid, (byte)(lba >> 8));
        _io.Out8(LbaHigh, (byte)(lba >> 16));
        _io.Out8(Command, command);
    }

    private void ExpectMemoryHoldsSectors(ulong address, ulong firstSector, int sectors)
    {
        var expected = new byte[512];
        var actual = new byte[512];
        for (int k = 0; k < sectors; k++)
        {
            Fill(expected, firstSector + (ulong)k);
            Assert.That(_memory.TryRead(address + (ulong)k * 512, actual), Is.True);
            Assert.That(actual, Is.EqualTo(expected), $"sector {firstSector + (ulong)k}");
        }
    }

    [Test]
    public void Registers_read_back_as_a_piix_defines_them()
    {
        _io.Out32(BmTable, 0x12345677);
        Assert.That(_io.In32(BmTable), Is.EqualTo(0x12345674u), "bits 1:0 read 0");
        _io.Out8(BmCommand, 0xFF & ~Start);
        Assert.That(_io.In8(BmCommand), Is.EqualTo(ToMemory), "only bits 0 and 3 exist");
        Assert.That(_io.In8(BmStatus), Is.EqualTo(IdeBusMasterRegisters.StatusDrive0Capable));
        _io.Out8(BmStatus, 0x60 | Active);
        Assert.That(_io.In8(BmStatus), Is.EqualTo(0x60), "Active is read only; the capable bits are read/write");
        Assert.That(_io.In8(IdeBusMasterRegisters.Base + 1), Is.Zero);
        Assert.That(_io.In8(IdeBusMasterRegisters.Base + 3), Is.Zero);
    }

    [Test]
    public void Read_dma_scatters_sectors_over_the_table_and_completes()
    {
        Prd(0, (uint)Buffer, 1024, last: false);
        Prd(1, (uint)Buffer + 0x4000, 2048, last: false);
        Prd(2, (uint)Buffer + 0x8000, 1024, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 100, 8);
        Assert.That(_io.In8(Control), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete | AtaStatus.DataRequest), "the drive waits for the bus master");
        _io.Out8(BmCommand, Start | ToMemory);

        Assert.That(_io.In8(BmStatus) & (Active | BmError | Interrupt), Is.EqualTo(Interrupt), "EOT region used up exactly: Active clear; INTRQ (nIEN clear) sets Interrupt");
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete));
        ExpectMemoryHoldsSectors(Buffer, 100, 2);
        ExpectMemoryHoldsSectors(Buffer + 0x4000, 102, 4);
        ExpectMemoryHoldsSectors(Buffer + 0x8000, 106, 2);
        Assert.That(_io.In8(LbaLow), Is.EqualTo(107), "LBA reports the last sector moved");
        Assert.That(_bm.Transfers, Is.EqualTo(1));
        _io.Out8(BmStatus, Interrupt);
        Assert.That(_io.In8(BmStatus) & Interrupt, Is.Zero, "write 1 clears Interrupt");
    }

    [Test]
    public void Write_dma_gathers_memory_onto_the_disk()
    {
        var payload = new byte[4096];
        for (int i = 0; i < payload.Length; i++)
            payload[i] = (byte)(i * 31 + 5);
        Assert.That(_memory.TryWrite(Buffer, payload), Is.True);
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.WriteDma, 16, 8);
        _io.Out8(BmCommand, Start);

        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete));
        var disk = new byte[4096];
        Assert.That(_image.TryRead(16, disk), Is.True);
        Assert.That(disk, Is.EqualTo(payload));
    }

    [Test]
    public void A_table_longer_than_the_transfer_leaves_active_set_and_the_next_command_continues_it()
    {
        Prd(0, (uint)Buffer, 4096, last: false);
        Prd(1, (uint)Buffer + 0x2000, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_io.In8(BmStatus) & (Active | Interrupt), Is.EqualTo(Active | Interrupt), "PIIX: Active stays when the table holds more");
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete));

        Taskfile(AtaCommand.ReadDma, 40, 8);
        Assert.That(_io.In8(BmStatus) & Active, Is.Zero, "the second command used up the EOT region");
        ExpectMemoryHoldsSectors(Buffer + 0x2000, 40, 8);
    }

    [Test]
    public void A_table_shorter_than_the_transfer_clears_active_without_interrupt_and_the_drive_keeps_waiting()
    {
        Prd(0, (uint)Buffer, 2048, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start | ToMemory);

        Assert.That(_io.In8(BmStatus) & (Active | BmError | Interrupt), Is.Zero);
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete | AtaStatus.DataRequest));
        Assert.That(_bm.ShortTables, Is.EqualTo(1));
        // SRST abandons the command.
        _io.Out8(Control, AtaRegisters.ControlSoftReset);
        _io.Out8(Control, 0);
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete));
    }

    [Test]
    public void A_table_without_eot_stops_at_its_64_KiB_boundary_with_an_error()
    {
        // 8,192 two-byte regions and no EOT, for a 128 KiB read: the walk must stop, not run on.
        for (int i = 0; i < IdeBusMasterRegisters.MaxPrdEntries; i++)
            Prd(i, (uint)Buffer, 2, last: false, table: 0x40000);
        _io.Out32(BmTable, 0x40000);
        Taskfile(AtaCommand.ReadDma, 0, 0); // count 0: 256 sectors
        _io.Out8(BmCommand, Start | ToMemory);

        Assert.That(_bm.LastError, Is.EqualTo(IdeDmaError.TableWithoutEnd));
        Assert.That(_bm.EntriesLoaded, Is.EqualTo(IdeBusMasterRegisters.MaxPrdEntries));
        Assert.That(_io.In8(BmStatus) & (Active | BmError), Is.EqualTo(BmError));
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete | AtaStatus.Error));
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.Aborted));
    }

    [Test]
    public void A_table_starting_just_below_a_64_KiB_boundary_has_room_for_one_entry()
    {
        Prd(0, (uint)Buffer, 512, last: false, table: 0xFFF8);
        Prd(0, (uint)Buffer, 4096, last: true, table: 0x10000); // beyond the boundary: never read
        _io.Out32(BmTable, 0xFFF8);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_bm.LastError, Is.EqualTo(IdeDmaError.TableWithoutEnd));
        Assert.That(_bm.EntriesLoaded, Is.EqualTo(1));
    }

    [TestCase(MemorySize - 4, IdeDmaError.TableWithoutEnd)]      // no room for an entry before the 64 KiB boundary (RAM ends there too)
    [TestCase(MemorySize + 0x1000, IdeDmaError.TableOutsideMemory)]
    [TestCase(0xFFFF_F000UL, IdeDmaError.TableOutsideMemory)]
    public void A_table_outside_guest_memory_or_its_64_KiB_window_is_a_bus_error(ulong table, IdeDmaError expected)
    {
        _io.Out32(BmTable, (uint)table);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_bm.LastError, Is.EqualTo(expected));
        Assert.That(_io.In8(BmStatus) & (Active | BmError), Is.EqualTo(BmError));
        Assert.That(_io.In8(Status) & AtaStatus.Error, Is.EqualTo(AtaStatus.Error));
    }

    [TestCase(MemorySize, 4096u, true)]              // past the end
    [TestCase(MemorySize - 2048, 4096u, true)]       // straddles the end
    [TestCase(0xFFFF_F000UL, 4096u, true)]           // far outside, near 2^32
    [TestCase(MemorySize - 4096, 4096u, false)]      // the last page: fine
    public void A_region_outside_guest_memory_is_a_bus_error_and_writes_nothing(ulong region, uint bytes, bool outside)
    {
        Prd(0, (uint)region, bytes, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_bm.LastError, Is.EqualTo(outside ? IdeDmaError.RegionOutsideMemory : IdeDmaError.None));
        Assert.That(_io.In8(Status), Is.EqualTo(outside ? AtaStatus.Ready | AtaStatus.SeekComplete | AtaStatus.Error : AtaStatus.Ready | AtaStatus.SeekComplete));
        if (outside)
            Assert.That(_bm.BytesMoved, Is.Zero);
    }

    [Test]
    public void A_zero_byte_count_is_a_64_KiB_region_as_on_a_piix()
    {
        Prd(0, (uint)Buffer, 0, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 0, 128); // 64 KiB
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_io.In8(BmStatus) & (Active | BmError), Is.Zero, "the 64 KiB region was used up exactly");
        ExpectMemoryHoldsSectors(Buffer, 0, 128);
    }

    [Test]
    public void A_zero_byte_count_region_that_reaches_outside_memory_is_refused()
    {
        Prd(0, (uint)(MemorySize - 0x8000), 0, last: true); // 64 KiB from 32 KiB below the end
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_bm.LastError, Is.EqualTo(IdeDmaError.RegionOutsideMemory));
    }

    [Test]
    public void Bit_0_of_the_address_and_byte_count_is_ignored()
    {
        Prd(0, (uint)Buffer + 1, 513, last: false);
        Prd(1, (uint)Buffer + 512, 3584, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 3, 8);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete));
        ExpectMemoryHoldsSectors(Buffer, 3, 8);
    }

    [Test]
    public void Dma_past_the_end_of_the_disk_is_refused_by_the_drive_and_moves_nothing()
    {
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        _io.Out8(BmCommand, Start | ToMemory);
        Taskfile(AtaCommand.ReadDma, (uint)DiskSectors - 4, 8);
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete | AtaStatus.Error));
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.IdNotFound));
        Assert.That(_bm.BytesMoved, Is.Zero);
        Assert.That(_io.In8(BmStatus) & (Active | Interrupt), Is.EqualTo(Active | Interrupt), "the engine still waits; the drive's INTRQ set Interrupt");
    }

    [Test]
    public void Start_without_a_command_waits_and_a_later_command_transfers()
    {
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_io.In8(BmStatus) & (Active | Interrupt), Is.EqualTo(Active));
        Assert.That(_bm.BytesMoved, Is.Zero);

        Taskfile(AtaCommand.ReadDma, 9, 8);
        Assert.That(_io.In8(BmStatus) & Active, Is.Zero);
        ExpectMemoryHoldsSectors(Buffer, 9, 8);
    }

    [Test]
    public void A_command_written_while_a_dma_command_waits_replaces_it()
    {
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 1, 8);
        Taskfile(AtaCommand.ReadDma, 50, 8); // the first one never got its Start
        _io.Out8(BmCommand, Start | ToMemory);
        ExpectMemoryHoldsSectors(Buffer, 50, 8);
        Assert.That(_bm.Transfers, Is.EqualTo(1));
    }

    [Test]
    public void A_second_start_without_a_stop_starts_nothing()
    {
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start | ToMemory);
        Taskfile(AtaCommand.ReadDma, 8, 8);
        _io.Out8(BmCommand, Start | ToMemory); // Start stays 1: no 0-to-1 transition
        Assert.That(_bm.Transfers, Is.EqualTo(1));
        Assert.That(_io.In8(Status) & AtaStatus.DataRequest, Is.EqualTo(AtaStatus.DataRequest), "the second command waits");
        _io.Out8(BmCommand, ToMemory);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_bm.Transfers, Is.EqualTo(2));
        ExpectMemoryHoldsSectors(Buffer, 8, 8);
    }

    [Test]
    public void A_direction_bit_contradicting_the_command_is_a_bus_error()
    {
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start); // "read memory" for a READ DMA
        Assert.That(_bm.LastError, Is.EqualTo(IdeDmaError.DirectionMismatch));
        Assert.That(_io.In8(BmStatus) & (Active | BmError), Is.EqualTo(BmError));
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.Aborted));
        Assert.That(_bm.BytesMoved, Is.Zero);
    }

    [Test]
    public void Write_dma_on_a_read_only_disk_is_aborted()
    {
        _image.Dispose();
        _image = DiskImage.Open(_path, readOnly: true);
        _drive = new AtaPioDisk(_image);
        _bm = new IdeBusMaster(_drive, _memory);
        var bus = new IoBus("pio");
        bus.Register(AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength, _drive);
        bus.Register(IdeBusMasterRegisters.Base, IdeBusMasterRegisters.Length, _bm);
        _io = new PortIo(bus);
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.WriteDma, 0, 8);
        _io.Out8(BmCommand, Start);
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.Aborted));
        Assert.That(_bm.BytesMoved, Is.Zero);
    }

    [Test]
    public void With_nien_set_the_interrupt_bit_stays_clear()
    {
        _io.Out8(Control, AtaRegisters.ControlNoInterrupt);
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        Taskfile(AtaCommand.ReadDma, 0, 8);
        _io.Out8(BmCommand, Start | ToMemory);
        Assert.That(_io.In8(BmStatus) & (Active | Interrupt), Is.Zero);
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete));
    }

    [Test]
    public void A_drive_without_a_bus_master_aborts_dma_commands_and_identify_says_no_dma()
    {
        var plain = new AtaPioDisk(_image);
        var bus = new IoBus("pio");
        bus.Register(AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength, plain);
        var io = new PortIo(bus);
        io.Out8(Device, 0xE0);
        io.Out8(Command, AtaCommand.ReadDma);
        Assert.That(io.In8(Error), Is.EqualTo(AtaError.Aborted));

        Assert.That(IdentifyWord(io, 49) & 0x0100, Is.Zero);
        Assert.That(IdentifyWord(_io, 49) & 0x0100, Is.EqualTo(0x0100), "behind a bus master: DMA supported");
        Assert.That(IdentifyWord(_io, 63), Is.EqualTo(0x0407));
    }

    private static int IdentifyWord(PortIo io, int word)
    {
        io.Out8(Device, 0xE0);
        io.Out8(Command, AtaCommand.IdentifyDevice);
        Span<byte> block = stackalloc byte[512];
        io.RepInsw(0x1F0, block);
        return block[word * 2] | (block[word * 2 + 1] << 8);
    }

    [Test]
    public void A_second_bus_master_on_one_drive_is_refused()
    {
        Assert.That(() => new IdeBusMaster(_drive, _memory), Throws.InvalidOperationException);
    }

    [Test]
    public void Requests_allocate_nothing()
    {
        Prd(0, (uint)Buffer, 4096, last: true);
        _io.Out32(BmTable, (uint)Table);
        void Request(uint lba)
        {
            Taskfile(AtaCommand.ReadDma, lba, 8);
            _io.Out8(BmCommand, Start | ToMemory);
            _ = _io.In8(Status);
            _io.Out8(BmCommand, ToMemory);
        }
        Request(0); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (uint i = 0; i < 1000; i++)
            Request(i % 60 * 8);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(_bm.Transfers, Is.EqualTo(1001));
        Assert.That(allocated, Is.Zero);
    }
}
