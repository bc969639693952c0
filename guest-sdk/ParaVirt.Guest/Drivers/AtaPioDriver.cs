using ParaVirt.Abi.Legacy;

namespace ParaVirt.Guest.Drivers;

/// <summary>
/// A polled ATA PIO driver for the primary master (command block 1F0h, control 3F6h), 28-bit LBA,
/// one READ SECTORS / WRITE SECTORS command per request of 1 to <see cref="MaxSectorsPerCommand"/>
/// sectors. Per request: wait until not BSY and DRDY, program device/LBA, count, LBA low/mid/high,
/// command; then for each 512-byte block poll Status (ERR, DF, DRQ) and move the block with one
/// <c>rep insw</c> / <c>rep outsw</c> of 256 words (<see cref="Cpu.InWords"/>/<see cref="Cpu.OutWords"/>);
/// after the last block read Status once more and check ERR/DF. Interrupts are off (nIEN), the
/// driver polls, as ata_piix does in PIO polling mode.
/// </summary>
/// <remarks>
/// Exits in full mode, per request of n sectors with a page-aligned buffer: 1 (ready) + 6
/// (registers) + n x (1 Status + the string I/O) + 1 (final Status). KVM hands a string I/O to
/// user space in pieces of at most one page, so a 512-byte block inside one page is one exit:
/// 8 + 2n exits, 24 for 8 sectors.
/// </remarks>
/// <example><code>
/// var disk = new AtaPioDriver();
/// if (disk.Initialize() &lt; 0) return 1;           // IDENTIFY: capacity, LBA support
/// int s = disk.Write(lba: 0, count: 8, buffer);     // 4 KiB
/// if (s &lt; 0) { Console.WriteHex(disk.LastStatus); Console.WriteHex(disk.LastError); }
/// </code></example>
public sealed unsafe class AtaPioDriver
{
    /// <summary>The most sectors one command moves in this driver (4 KiB).</summary>
    public const int MaxSectorsPerCommand = 8;

    /// <summary>Status polls before <see cref="DriverStatus.Timeout"/>.</summary>
    public const int PollLimit = 1_000_000;

    private const ushort Data = AtaRegisters.Data, Error = AtaRegisters.Error, SectorCountPort = AtaRegisters.SectorCount;
    private const ushort LbaLow = AtaRegisters.LbaLow, LbaMid = AtaRegisters.LbaMid, LbaHigh = AtaRegisters.LbaHigh;
    private const ushort DevicePort = AtaRegisters.Device, StatusCommand = AtaRegisters.Command, Control = AtaRegisters.DeviceControl;
    private const byte StatusBusy = AtaStatus.Busy, StatusReady = AtaStatus.Ready, StatusFault = AtaStatus.DeviceFault;
    private const byte StatusDrq = AtaStatus.DataRequest, StatusError = AtaStatus.Error;
    private const byte CommandRead = AtaCommand.ReadSectors, CommandWrite = AtaCommand.WriteSectors;
    private const byte CommandFlush = AtaCommand.FlushCache, CommandIdentify = AtaCommand.IdentifyDevice;
    private const byte DeviceLbaMaster = AtaRegisters.DeviceLbaMaster, ControlNoInterrupts = AtaRegisters.ControlNoInterrupt;

    private ushort* _identify;

    /// <summary>Sectors on the disk (IDENTIFY words 60-61).</summary>
    public uint SectorCount { get; private set; }

    /// <summary>IDENTIFY says the drive does DMA (word 49 bit 8): it sits behind a bus master.</summary>
    public bool SupportsDma => _identify != null && (_identify[49] & 0x0100) != 0;

    /// <summary>The Status register when the last command ended or failed.</summary>
    public byte LastStatus { get; private set; }

    /// <summary>The Error register when the last command failed (ABRT 04h, IDNF 10h, ...), else 0.</summary>
    public byte LastError { get; private set; }

    /// <summary>Selects the master, turns interrupts off, runs IDENTIFY DEVICE and checks LBA support. Returns 0 or a negative status.</summary>
    public int Initialize()
    {
        Cpu.OutByte(Control, ControlNoInterrupts);
        Cpu.OutByte(DevicePort, DeviceLbaMaster);
        byte status = Cpu.InByte(StatusCommand);
        if (status == 0x00 || status == 0xFF)
            return DriverStatus.NoDevice;
        int s = WaitReady();
        if (s < 0)
            return s;
        Cpu.OutByte(StatusCommand, CommandIdentify);
        if ((s = WaitDataRequest()) < 0)
            return s;
        _identify = (ushort*)Internal.Runtime.BumpAllocator.Allocate(512);
        Cpu.InWords(Data, _identify, 256);
        if ((s = CheckEnd()) < 0)
            return s;
        if ((_identify[49] & 0x0200) == 0)
            return DriverStatus.Unsupported; // no LBA
        SectorCount = _identify[60] | ((uint)_identify[61] << 16);
        return DriverStatus.Ok;
    }

    /// <summary>Reads <paramref name="count"/> sectors at <paramref name="lba"/> into <paramref name="buffer"/>. Returns 0 or a negative status.</summary>
    public int Read(uint lba, int count, byte* buffer)
    {
        int s = Issue(CommandRead, lba, count, buffer);
        if (s < 0)
            return s;
        for (int i = 0; i < count; i++)
        {
            if ((s = WaitDataRequest()) < 0)
                return s;
            Cpu.InWords(Data, (ushort*)(buffer + i * 512), 256);
        }
        return CheckEnd();
    }

    /// <summary>Writes <paramref name="count"/> sectors from <paramref name="buffer"/> at <paramref name="lba"/>. Returns 0 or a negative status.</summary>
    public int Write(uint lba, int count, byte* buffer)
    {
        int s = Issue(CommandWrite, lba, count, buffer);
        if (s < 0)
            return s;
        for (int i = 0; i < count; i++)
        {
            if ((s = WaitDataRequest()) < 0)
                return s;
            Cpu.OutWords(Data, (ushort*)(buffer + i * 512), 256);
        }
        return CheckEnd();
    }

    /// <summary>FLUSH CACHE: makes completed writes durable. Returns 0 or a negative status.</summary>
    public int Flush()
    {
        int s = WaitReady();
        if (s < 0)
            return s;
        Cpu.OutByte(DevicePort, DeviceLbaMaster);
        Cpu.OutByte(StatusCommand, CommandFlush);
        return CheckEnd();
    }

    private int Issue(byte command, uint lba, int count, byte* buffer)
    {
        if (count < 1 || count > MaxSectorsPerCommand || buffer == null)
            return DriverStatus.BadArgument;
        if (lba > 0x0FFFFFFF || (ulong)lba + (ulong)count > SectorCount)
            return DriverStatus.OutOfRange;
        int s = WaitReady();
        if (s < 0)
            return s;
        WriteTaskfile(command, lba, count);
        return DriverStatus.Ok;
    }

    /// <summary>
    /// The 28-bit LBA taskfile of a read or write on the master, one register per access as every
    /// real driver writes it (6 exits): device/LBA 27:24, sector count (256 is written as 0), LBA
    /// low, mid, high, then the command. Shared with <see cref="IdeDmaDriver"/>: the DMA commands
    /// take the same registers.
    /// </summary>
    internal static void WriteTaskfile(byte command, uint lba, int count)
    {
        Cpu.OutByte(DevicePort, (byte)(DeviceLbaMaster | ((lba >> 24) & 0x0F)));
        Cpu.OutByte(SectorCountPort, (byte)count);
        Cpu.OutByte(LbaLow, (byte)lba);
        Cpu.OutByte(LbaMid, (byte)(lba >> 8));
        Cpu.OutByte(LbaHigh, (byte)(lba >> 16));
        Cpu.OutByte(StatusCommand, command);
    }

    /// <summary>Polls until BSY clears and DRDY is set.</summary>
    private int WaitReady() => WaitNotBusy(StatusReady, idleIsError: false);

    /// <summary>Polls until BSY clears, then requires DRQ without ERR/DF.</summary>
    private int WaitDataRequest() => WaitNotBusy(StatusDrq, idleIsError: true);

    /// <summary>
    /// Polls the status register until BSY clears, then: ERR or DF fails; <paramref name="wanted"/>
    /// succeeds; otherwise either keeps polling or, with <paramref name="idleIsError"/>, fails (the
    /// device is neither busy nor asking for data: the command ended early).
    /// </summary>
    private int WaitNotBusy(byte wanted, bool idleIsError)
    {
        for (int i = 0; i < PollLimit; i++)
        {
            byte status = Cpu.InByte(StatusCommand);
            if ((status & StatusBusy) != 0)
                continue;
            LastStatus = status;
            if ((status & (StatusError | StatusFault)) != 0)
                return Failed(status);
            if ((status & wanted) != 0)
                return DriverStatus.Ok;
            if (idleIsError)
                return Failed(status);
        }
        return DriverStatus.Timeout;
    }

    /// <summary>After the last block: BSY and DRQ clear, no ERR/DF.</summary>
    private int CheckEnd()
    {
        for (int i = 0; i < PollLimit; i++)
        {
            byte status = Cpu.InByte(StatusCommand);
            if ((status & StatusBusy) != 0)
                continue;
            LastStatus = status;
            if ((status & (StatusError | StatusFault | StatusDrq)) != 0)
                return Failed(status);
            LastError = 0;
            return DriverStatus.Ok;
        }
        return DriverStatus.Timeout;
    }

    private int Failed(byte status)
    {
        LastStatus = status;
        LastError = (status & StatusError) != 0 ? Cpu.InByte(Error) : (byte)0;
        return DriverStatus.DeviceError;
    }
}
