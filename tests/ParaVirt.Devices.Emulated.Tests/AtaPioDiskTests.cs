using System.Buffers.Binary;
using System.IO;
using System.Text;
using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated.Ata;

namespace ParaVirt.Devices.Emulated.Tests;

public sealed class AtaPioDiskTests
{
    private const ushort Data = 0x1F0, Error = 0x1F1, Features = 0x1F1, Count = 0x1F2, LbaLow = 0x1F3, LbaMid = 0x1F4, LbaHigh = 0x1F5,
        Device = 0x1F6, Status = 0x1F7, Command = 0x1F7, Control = 0x3F6;
    private const ulong DiskSectors = 64;

    private string _path = null!;
    private DiskImage _image = null!;
    private AtaPioDisk _disk = null!;
    private PortIo _io = null!;

    [SetUp]
    public void SetUp()
    {
        _path = Path.Combine(Path.GetTempPath(), $"paravirt-ata-{Guid.NewGuid():N}.img");
        _image = DiskImage.Create(_path, DiskSectors);
        Attach(_image);
    }

    [TearDown]
    public void TearDown()
    {
        _image.Dispose();
        File.Delete(_path);
    }

    private void Attach(DiskImage image)
    {
        _disk = new AtaPioDisk(image);
        var bus = new IoBus("pio");
        bus.Register(AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength, _disk);
        bus.Register(AtaPioDisk.ControlBlockPort, 1, _disk.ControlBlock);
        _io = new PortIo(bus);
    }

    /// <summary>What a driver does before a command: select the master in LBA mode, wait for BSY clear and DRDY.</summary>
    private void Issue(byte command, uint lba = 0, byte count = 0)
    {
        _io.Out8(Device, (byte)(0xE0 | (lba >> 24 & 0x0F)));
        while ((_io.In8(Control) & (AtaStatus.Busy | AtaStatus.Ready)) != AtaStatus.Ready) { }
        _io.Out8(Count, count);
        _io.Out8(LbaLow, (byte)lba);
        _io.Out8(LbaMid, (byte)(lba >> 8));
        _io.Out8(LbaHigh, (byte)(lba >> 16));
        _io.Out8(Command, command);
    }

    private byte WaitNotBusy()
    {
        byte status;
        do
            status = _io.In8(Status);
        while ((status & AtaStatus.Busy) != 0);
        return status;
    }

    private static byte[] Pattern(int sectors, int seed)
    {
        var bytes = new byte[sectors * 512];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private void WriteSectorsWordByWord(uint lba, byte[] bytes)
    {
        int sectors = bytes.Length / 512;
        Issue(0x30, lba, (byte)sectors);
        for (int s = 0; s < sectors; s++)
        {
            Assert.That(WaitNotBusy() & (AtaStatus.DataRequest | AtaStatus.Error), Is.EqualTo(AtaStatus.DataRequest), $"DRQ for block {s}");
            for (int w = 0; w < 256; w++)
                _io.Out16(Data, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(s * 512 + w * 2)));
        }
        Assert.That(WaitNotBusy(), Is.EqualTo(0x50), "write complete");
    }

    private byte[] ReadSectorsWordByWord(uint lba, int sectors)
    {
        var bytes = new byte[sectors * 512];
        Issue(0x20, lba, (byte)sectors);
        for (int s = 0; s < sectors; s++)
        {
            Assert.That(WaitNotBusy(), Is.EqualTo(0x58), $"DRQ for block {s}");
            for (int w = 0; w < 256; w++)
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(s * 512 + w * 2), _io.In16(Data));
        }
        Assert.That(WaitNotBusy(), Is.EqualTo(0x50), "read complete");
        return bytes;
    }

    [Test]
    public void PowerOnStateHoldsTheAtaSignature()
    {
        Assert.That(_io.In8(Status), Is.EqualTo(0x50));
        Assert.That(_io.In8(Error), Is.EqualTo(0x01));
        Assert.That(_io.In8(Count), Is.EqualTo(0x01));
        Assert.That(_io.In8(LbaLow), Is.EqualTo(0x01));
        Assert.That(_io.In8(LbaMid), Is.EqualTo(0x00));
        Assert.That(_io.In8(LbaHigh), Is.EqualTo(0x00));
    }

    [Test]
    public void IdentifyDeviceReportsSizeModelAndCapabilities()
    {
        Issue(0xEC);
        Assert.That(_disk.InterruptPending, Is.True);
        Assert.That(_disk.IrqAsserted, Is.True);
        Assert.That(_io.In8(Control), Is.EqualTo(0x58), "alternate status: DRQ, interrupt still pending");
        Assert.That(_disk.InterruptPending, Is.True);
        Assert.That(_io.In8(Status), Is.EqualTo(0x58));
        Assert.That(_disk.InterruptPending, Is.False, "status read acknowledges INTRQ");

        var words = new ushort[256];
        for (int i = 0; i < 256; i++)
            words[i] = _io.In16(Data);
        Assert.That(_io.In8(Status), Is.EqualTo(0x50), "DRQ clear after 256 words");

        Assert.That(words[0], Is.EqualTo(0x0040));
        Assert.That(words[60] | (uint)words[61] << 16, Is.EqualTo((uint)DiskSectors), "words 60-61: 28-bit sectors");
        Assert.That(words[49] & 0x0200, Is.Not.Zero, "LBA supported");
        Assert.That(words[83], Is.EqualTo(0x5000), "FLUSH CACHE, no 48-bit");
        Assert.That(words[86] & 0x1000, Is.Not.Zero);
        Assert.That(words[100] | words[101] | words[102] | words[103], Is.Zero);

        var model = new StringBuilder();
        for (int i = 27; i <= 46; i++)
            model.Append((char)(words[i] >> 8)).Append((char)(words[i] & 0xFF));
        Assert.That(model.ToString().TrimEnd(), Is.EqualTo("PARAVIRT ATA DISK"));
        var serial = new StringBuilder();
        for (int i = 10; i <= 19; i++)
            serial.Append((char)(words[i] >> 8)).Append((char)(words[i] & 0xFF));
        Assert.That(serial.ToString().TrimEnd(), Is.EqualTo("PV00000001"));

        Assert.That(words[255] & 0xFF, Is.EqualTo(0xA5));
        int sum = 0;
        foreach (ushort w in words)
            sum += (w & 0xFF) + (w >> 8);
        Assert.That(sum & 0xFF, Is.Zero, "integrity word checksum");
    }

    [Test]
    public void WriteThenReadBackEightSectorsWordByWord()
    {
        byte[] pattern = Pattern(8, 1);
        WriteSectorsWordByWord(5, pattern);
        byte[] file = File.ReadAllBytes(_path);
        Assert.That(file.AsSpan(5 * 512, pattern.Length).SequenceEqual(pattern), Is.True, "bytes reached the image file");
        Assert.That(file.AsSpan(0, 5 * 512).IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "nothing before LBA 5 touched");
        Assert.That(_io.In8(LbaLow), Is.EqualTo(12), "LBA registers end on the last sector written");
        Assert.That(_io.In8(Count), Is.Zero);

        byte[] back = ReadSectorsWordByWord(5, 8);
        Assert.That(back, Is.EqualTo(pattern));
        Assert.That(_disk.DataWordsTransferred, Is.EqualTo(2 * 8 * 256));
        Assert.That(_disk.StrayDataAccesses, Is.Zero);
    }

    [Test]
    public void WriteThenReadBackWithStringIoBursts()
    {
        byte[] pattern = Pattern(8, 2);
        Issue(0x30, 20, 8);
        for (int s = 0; s < 8; s++)
        {
            Assert.That(WaitNotBusy(), Is.EqualTo(0x58));
            _io.RepOutsw(Data, pattern.AsSpan(s * 512, 512)); // one exit, 256 elements
        }
        Assert.That(WaitNotBusy(), Is.EqualTo(0x50));

        var back = new byte[8 * 512];
        Issue(0x20, 20, 8);
        for (int s = 0; s < 8; s++)
        {
            Assert.That(WaitNotBusy(), Is.EqualTo(0x58));
            _io.RepInsw(Data, back.AsSpan(s * 512, 512));
        }
        Assert.That(WaitNotBusy(), Is.EqualTo(0x50));
        Assert.That(back, Is.EqualTo(pattern));
    }

    [Test]
    public void ThirtyTwoBitDataAccessesMoveTwoWords()
    {
        byte[] pattern = Pattern(2, 3);
        Issue(0x30, 0, 2);
        for (int i = 0; i < pattern.Length; i += 4)
            _io.Out32(Data, BinaryPrimitives.ReadUInt32LittleEndian(pattern.AsSpan(i)));
        Assert.That(WaitNotBusy(), Is.EqualTo(0x50));
        Issue(0x20, 0, 2);
        var back = new byte[pattern.Length];
        for (int i = 0; i < back.Length; i += 4)
            BinaryPrimitives.WriteUInt32LittleEndian(back.AsSpan(i), _io.In32(Data));
        Assert.That(back, Is.EqualTo(pattern));
        Assert.That(_io.In8(Status), Is.EqualTo(0x50));
    }

    [Test]
    public void SectorCountZeroMeansTwoHundredFiftySix()
    {
        using var bigImage = DiskImage.Create(_path + ".big", 300);
        try
        {
            Attach(bigImage);
            Issue(0x20, 0, 0);
            int words = 0;
            while ((_io.In8(Status) & AtaStatus.DataRequest) != 0)
            {
                _io.In16(Data);
                words++;
            }
            Assert.That(words, Is.EqualTo(256 * 256));
        }
        finally
        {
            bigImage.Dispose();
            File.Delete(_path + ".big");
        }
    }

    [Test]
    public void RequestBeyondTheDiskFailsWithIdnf()
    {
        Issue(0x20, (uint)DiskSectors - 4, 8);
        Assert.That(_io.In8(Status), Is.EqualTo(0x51), "DRDY|DSC|ERR, no DRQ");
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.IdNotFound));
        Assert.That(_io.In16(Data), Is.Zero, "no data");
        Issue(0x30, 0x0FFFFFFF, 1);
        Assert.That(_io.In8(Status), Is.EqualTo(0x51));
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.IdNotFound));
        Issue(0x20, (uint)DiskSectors - 1, 1);
        Assert.That(_io.In8(Status), Is.EqualTo(0x58), "the last sector itself is fine");
    }

    [Test]
    public void DataReadWithNoCommandReturnsZeroAndChangesNothing()
    {
        byte before = _io.In8(Status);
        Assert.That(_io.In16(Data), Is.EqualTo(0));
        Assert.That(_io.In32(Data), Is.EqualTo(0u));
        Assert.That(_io.In8(Data), Is.EqualTo(0xFF), "byte access to the data register");
        _io.Out16(Data, 0x1234);
        Assert.That(_io.In8(Status), Is.EqualTo(before));
        Assert.That(_disk.StrayDataAccesses, Is.EqualTo(4));
        Assert.That(_disk.DataWordsTransferred, Is.Zero);
        Assert.That(File.ReadAllBytes(_path).AsSpan().IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
    }

    [Test]
    public void CommandWhileDrqIsSetAbandonsTheOldTransfer()
    {
        byte[] pattern = Pattern(2, 4);
        WriteSectorsWordByWord(0, pattern);

        Issue(0x20, 0, 2);
        for (int i = 0; i < 10; i++)
            _io.In16(Data);
        Issue(0xEC); // IDENTIFY while DRQ is set for the read
        Assert.That(_io.In8(Status), Is.EqualTo(0x58));
        Assert.That(_io.In16(Data), Is.EqualTo(0x0040), "the new command's data, from word 0");
        for (int i = 1; i < 256; i++)
            _io.In16(Data);
        Assert.That(_io.In8(Status), Is.EqualTo(0x50), "the old read does not resume");

        Issue(0x30, 1, 1);
        for (int i = 0; i < 100; i++)
            _io.Out16(Data, 0xBEEF);
        Issue(0xE7); // FLUSH CACHE while the write waits for words
        Assert.That(_io.In8(Status), Is.EqualTo(0x50));
        byte[] file = File.ReadAllBytes(_path);
        Assert.That(file.AsSpan(512, 512).SequenceEqual(pattern.AsSpan(512, 512)), Is.True, "the partial block was discarded");
    }

    [Test]
    public void UnknownCommandAborts()
    {
        Issue(0xFF);
        Assert.That(_disk.InterruptPending, Is.True);
        Assert.That(_io.In8(Status), Is.EqualTo(0x51));
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.Aborted));
        Issue(0x24); // READ SECTORS EXT: 48-bit is not implemented
        Assert.That(_io.In8(Status), Is.EqualTo(0x51));
        Issue(0xE7);
        Assert.That(_io.In8(Status), Is.EqualTo(0x50), "the next good command clears ERR");
        Assert.That(_io.In8(Error), Is.Zero);
    }

    [Test]
    public void SoftResetAbortsAndRestoresTheSignature()
    {
        Issue(0x20, 3, 4);
        _io.In16(Data);
        _io.Out8(Control, 0x04); // SRST
        Assert.That(_io.In8(Control), Is.EqualTo(AtaStatus.Busy));
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Busy));
        Assert.That(_io.In8(LbaLow), Is.EqualTo(AtaStatus.Busy), "BSY: every register reads as status");
        _io.Out8(Command, 0xEC);
        _io.Out8(Control, 0x00);
        Assert.That(_io.In8(Status), Is.EqualTo(0x50));
        Assert.That(_io.In8(Error), Is.EqualTo(0x01));
        Assert.That(_io.In8(Count), Is.EqualTo(0x01));
        Assert.That(_io.In8(LbaLow), Is.EqualTo(0x01));
        Assert.That(_io.In8(LbaMid), Is.Zero);
        Assert.That(_io.In8(LbaHigh), Is.Zero);
        Assert.That(_io.In8(Device), Is.Zero);
        Assert.That(_io.In16(Data), Is.Zero, "neither the read nor the IDENTIFY written during reset is pending");
        Assert.That(_disk.InterruptPending, Is.False);
    }

    [Test]
    public void AbsentSlaveReadsZeroStatusAndIgnoresCommands()
    {
        _io.Out8(Device, 0xF0);
        Assert.That(_io.In8(Status), Is.Zero);
        Assert.That(_io.In8(Control), Is.Zero);
        _io.Out8(LbaMid, 0x5A);
        Assert.That(_io.In8(LbaMid), Is.EqualTo(0x5A), "shadow registers still latch");
        _io.Out8(Command, 0xEC);
        Assert.That(_disk.Commands, Is.Zero);
        Assert.That(_io.In16(Data), Is.Zero);
        _io.Out8(Device, 0xE0);
        Assert.That(_io.In8(Status), Is.EqualTo(0x50));
    }

    [Test]
    public void NienMasksTheIrqLine()
    {
        _io.Out8(Control, 0x02);
        Issue(0xE7);
        Assert.That(_disk.InterruptPending, Is.True);
        Assert.That(_disk.IrqAsserted, Is.False);
        _io.Out8(Control, 0x00);
        Assert.That(_disk.IrqAsserted, Is.True);
    }

    [Test]
    public void EachRisingEdgeOfIrq14IsReportedOnce()
    {
        int raised = 0;
        _disk.InterruptLineRaised = () => raised++;
        _io.Out8(Control, 0x00);
        Issue(0xE7); // FLUSH CACHE completes at once with INTRQ: a rising edge
        Assert.That(raised, Is.EqualTo(1));
        _ = _io.In8(Control); // Alternate Status leaves INTRQ (and the line) up: no new edge
        _io.Out8(LbaLow, 1);
        Assert.That(raised, Is.EqualTo(1));
        _ = _io.In8(Status); // acknowledged: the line falls
        Assert.That(_disk.IrqAsserted, Is.False);
        Issue(0xE7);
        Assert.That(raised, Is.EqualTo(2), "the next completion is a new edge");
        Assert.That(_disk.InterruptEdges, Is.EqualTo(2));
    }

    [Test]
    public void NoEdgeWhileNienMasksTheLine_OneWhenItIsCleared()
    {
        int raised = 0;
        _disk.InterruptLineRaised = () => raised++;
        _io.Out8(Control, 0x02);
        Issue(0xE7);
        Assert.That(raised, Is.Zero, "nIEN set: INTRQ does not reach IRQ14");
        _io.Out8(Control, 0x00);
        Assert.That(raised, Is.EqualTo(1), "clearing nIEN with INTRQ pending raises the line");
        _ = _io.In8(Status);
        _io.Out8(Control, 0x02);
        _io.Out8(Control, 0x00);
        Assert.That(raised, Is.EqualTo(1), "nothing pending: no edge");
    }

    [Test]
    public void SelectingTheAbsentDeviceDropsTheLineAndReselectingRaisesIt()
    {
        int raised = 0;
        _disk.InterruptLineRaised = () => raised++;
        _io.Out8(Control, 0x00);
        Issue(0xE7);
        _io.Out8(Device, 0xF0); // device 1: INTRQ is not driven
        Assert.That(_disk.IrqAsserted, Is.False);
        _io.Out8(Device, 0xE0);
        Assert.That(raised, Is.EqualTo(2), "INTRQ still pending when device 0 is selected again");
    }

    [Test]
    public void ChsAddressingUsesTheTranslation()
    {
        byte[] pattern = Pattern(1, 5);
        WriteSectorsWordByWord(1, pattern);
        _io.Out8(Device, 0xA0); // CHS, head 0
        _io.Out8(Count, 1);
        _io.Out8(LbaLow, 2);    // sector 2 (1-based) = LBA 1
        _io.Out8(LbaMid, 0);
        _io.Out8(LbaHigh, 0);
        _io.Out8(Command, 0x20);
        Assert.That(_io.In8(Status), Is.EqualTo(0x58));
        var back = new byte[512];
        _io.RepInsw(Data, back);
        Assert.That(back, Is.EqualTo(pattern));
        _io.Out8(LbaLow, 0);    // sector 0 does not exist
        _io.Out8(Command, 0x20);
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.IdNotFound));
    }

    [Test]
    public void ReadOnlyImageRefusesWrites()
    {
        _image.Dispose();
        using DiskImage readOnly = DiskImage.Open(_path, readOnly: true);
        Attach(readOnly);
        Issue(0x30, 0, 1);
        Assert.That(_io.In8(Status), Is.EqualTo(0x51));
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.Aborted));
        _image = DiskImage.Open(_path);
    }

    [Test]
    public void HostIoFailureReportsDeviceFault()
    {
        _image.Dispose(); // every TryRead/TryWrite/TryFlush now fails
        Issue(0x20, 0, 1);
        Assert.That(_io.In8(Status), Is.EqualTo(AtaStatus.Ready | AtaStatus.SeekComplete | AtaStatus.DeviceFault | AtaStatus.Error));
        Assert.That(_io.In8(Error), Is.EqualTo(AtaError.Aborted));
        Issue(0x30, 0, 1);
        _io.RepOutsw(Data, new byte[512]);
        Assert.That(_io.In8(Status), Is.EqualTo(0x71));
        Issue(0xE7);
        Assert.That(_io.In8(Status), Is.EqualTo(0x71));
        _image = DiskImage.Open(_path);
    }

    [Test]
    public void AccessesAreCounted()
    {
        long reads = _disk.Reads, writes = _disk.Writes;
        Issue(0xEC); // 5 writes of registers + 1 command, status polled once through the control block
        var block = new byte[512];
        _io.RepInsw(Data, block);
        Assert.That(_disk.Writes - writes, Is.EqualTo(6));
        Assert.That(_disk.Reads - reads, Is.EqualTo(1 + 256));
    }
}
