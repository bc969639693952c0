using ParaVirt.Abi.Legacy;

namespace ParaVirt.Guest.Drivers;

/// <summary>
/// An IDE bus-master DMA driver (the PIIX programming model) for the primary master: 28-bit
/// LBA, one READ DMA / WRITE DMA command per request of 1 to <see cref="MaxSectorsPerCommand"/>
/// sectors, the data described by a PRD table in guest memory. Identification and probing are
/// <see cref="AtaPioDriver"/>'s (IDENTIFY must report DMA). Completion by polling Status with
/// interrupts off (nIEN), as libata does for a polled DMA command, or (full flavour,
/// <c>Initialize(interrupts: true)</c>) by IRQ14 through the virtual IDT, as libata's
/// <c>ata_bmdma_interrupt</c> path does.
/// </summary>
/// <remarks>
/// <para><b>Per request</b> (the exits in full mode, each one port access):
/// device/LBA 27:24, sector count, LBA low, mid, high, command (6: the taskfile, one register per
/// access as every real driver writes it); Start with the direction (1); Status until BSY and DRQ
/// clear (1 on this emulation, which moves the data inside the Start exit); Stop (1: the PIIX starts
/// only on a 0-to-1 transition of Start, so each request must clear it again). 9 exits per request
/// whatever its size up to 64 KiB. Not per request: the table address is programmed once at
/// <see cref="Initialize"/> (the table lives at a fixed address, only its entries change, which costs
/// no exit), no Status wait before the command (the previous request ended with the drive idle), no
/// Bus Master Status read on success (the drive's ERR/DF and BSY/DRQ say everything: a table too
/// short leaves the drive waiting, a bus error ends the command with ERR); on failure the driver reads
/// Error and Bus Master Status for <see cref="LastError"/> and <see cref="LastBusMasterStatus"/>.</para>
/// <para><b>With interrupts</b> nIEN is cleared once and each request sleeps after Start in
/// <see cref="Events.WaitForInterrupt"/> until IRQ14 arrives (the sti, the hlt where it is
/// delivered, the handler's sti/iretq and the cli after it: 4 exits), then reads Status (which
/// acknowledges INTRQ) and writes Stop as above: 13 exits per request, the price of an interrupt
/// when every interrupt-flag change traps.</para>
/// <para><b>Buffers</b> are identity mapped (guest virtual = physical); a region must not cross a
/// 64 KiB boundary, so a buffer that does is described by two entries.</para>
/// <para><b>Ordering.</b> The PRD entries are plain stores; the port writes that follow are calls
/// the compiler cannot move stores across, and an <c>out</c> is serializing on x86.</para>
/// </remarks>
/// <example><code>
/// var disk = new IdeDmaDriver();
/// if (disk.Initialize() &lt; 0) return 1;
/// int s = disk.Read(lba: 0, count: 8, buffer);      // 4 KiB, 9 port exits
/// </code></example>
public sealed unsafe class IdeDmaDriver
{
    /// <summary>The most sectors one command moves in this driver (64 KiB).</summary>
    public const int MaxSectorsPerCommand = 128;

    /// <summary>Status polls before <see cref="DriverStatus.Timeout"/>.</summary>
    public const int PollLimit = AtaPioDriver.PollLimit;

    private const ushort ErrorPort = AtaRegisters.Error, StatusCommand = AtaRegisters.Command;
    private const ushort BmCommand = IdeBusMasterRegisters.Command, BmStatus = IdeBusMasterRegisters.Status, BmTable = IdeBusMasterRegisters.PrdTableAddress;
    private const byte StatusBusy = AtaStatus.Busy, StatusDrq = AtaStatus.DataRequest, StatusError = AtaStatus.Error, StatusFault = AtaStatus.DeviceFault;

    private readonly AtaPioDriver _ata = new();
    private uint* _table; // two PRD entries, 8 bytes each, in one page (never across 64 KiB)
    private bool _interrupts;

    /// <summary>Whether requests complete by IRQ14 (<c>Initialize(interrupts: true)</c>) rather than by polling Status.</summary>
    public bool UsesInterrupts => _interrupts;

    /// <summary>Sectors on the disk (IDENTIFY words 60-61).</summary>
    public uint SectorCount => _ata.SectorCount;

    /// <summary>The Status register when the last command ended or failed.</summary>
    public byte LastStatus { get; private set; }

    /// <summary>The Error register when the last command failed, else 0.</summary>
    public byte LastError { get; private set; }

    /// <summary>The Bus Master Status register read after the last failure (Error 02h, Active 01h), else 0.</summary>
    public byte LastBusMasterStatus { get; private set; }

    /// <summary>
    /// IDENTIFY (through <see cref="AtaPioDriver.Initialize"/>), checks DMA support, places the PRD
    /// table, programs its address once and clears the bus master's Error and Interrupt bits. With
    /// <paramref name="interrupts"/> (full flavour only) it installs the virtual IDT and clears nIEN,
    /// so each request completes by IRQ14. Returns 0 or a negative status.
    /// </summary>
    public int Initialize(bool interrupts = false)
    {
#if PARAVIRT_PARA
        if (interrupts)
            return DriverStatus.Unsupported; // para mode has event channels, not IRQ lines
#endif
        int s = _ata.Initialize();
        if (s < 0)
            return s;
        if (!_ata.SupportsDma)
            return DriverStatus.Unsupported;
        ulong raw = (ulong)Internal.Runtime.BumpAllocator.Allocate(4096 + 4095);
        _table = (uint*)((raw + 4095) & ~4095UL);
        Recover();
        if (Cpu.InDword(BmTable) != (uint)(ulong)_table)
            return DriverStatus.NoDevice; // no bus master behind these ports
        _interrupts = interrupts; // para flavour: false here (refused above)
#if !PARAVIRT_PARA
        if (interrupts)
        {
            Events.Install();
            Cpu.InByte(StatusCommand);                    // INTRQ acknowledged first: clearing nIEN must not raise a stale edge
            Cpu.OutByte(AtaRegisters.DeviceControl, 0);   // nIEN clear: from now INTRQ drives IRQ14
            Events.TakeChannel(AtaRegisters.InterruptLine); // nothing delivered before counts
        }
#endif
        return DriverStatus.Ok;
    }

    /// <summary>
    /// Puts the bus master back in this driver's hands, as an error handler does: Stop, the table
    /// address programmed again, Error and Interrupt cleared. Call it after anything else programmed
    /// the bus master; the next request's command replaces whatever the drive was doing.
    /// </summary>
    public void Recover()
    {
        Cpu.OutByte(BmCommand, 0);
        Cpu.OutDword(BmTable, (uint)(ulong)_table);
        Cpu.OutByte(BmStatus, IdeBusMasterRegisters.StatusError | IdeBusMasterRegisters.StatusInterrupt | IdeBusMasterRegisters.StatusDrive0Capable);
    }

    /// <summary>Reads <paramref name="count"/> sectors at <paramref name="lba"/> into <paramref name="buffer"/> by DMA. Returns 0 or a negative status.</summary>
    public int Read(uint lba, int count, byte* buffer) => Transfer(AtaCommand.ReadDma, IdeBusMasterRegisters.CommandToMemory, lba, count, buffer);

    /// <summary>Writes <paramref name="count"/> sectors from <paramref name="buffer"/> at <paramref name="lba"/> by DMA. Returns 0 or a negative status.</summary>
    public int Write(uint lba, int count, byte* buffer) => Transfer(AtaCommand.WriteDma, 0, lba, count, buffer);

    /// <summary>FLUSH CACHE (a non-data command: <see cref="AtaPioDriver.Flush"/>). Returns 0 or a negative status.</summary>
    public int Flush() => _ata.Flush();

    private int Transfer(byte command, byte direction, uint lba, int count, byte* buffer)
    {
        if (count < 1 || count > MaxSectorsPerCommand || buffer == null)
            return DriverStatus.BadArgument;
        if (lba > 0x0FFFFFFF || (ulong)lba + (ulong)count > SectorCount)
            return DriverStatus.OutOfRange;
        ulong address = (ulong)buffer;
        uint bytes = (uint)count * 512;
        if (address + bytes > 0x1_0000_0000UL)
            return DriverStatus.BadArgument; // the PIIX addresses 32 bits
        // One region, or two when the buffer crosses a 64 KiB boundary (a region must not).
        uint toBoundary = (uint)(0x10000 - (address & 0xFFFF));
        if (bytes <= toBoundary)
        {
            _table[0] = (uint)address;
            _table[1] = (bytes & 0xFFFF) | IdeBusMasterRegisters.PrdEndOfTable; // 64 KiB is written as 0
        }
        else
        {
            _table[0] = (uint)address;
            _table[1] = toBoundary & 0xFFFF;
            _table[2] = (uint)(address + toBoundary);
            _table[3] = (bytes - toBoundary) | IdeBusMasterRegisters.PrdEndOfTable;
        }
        AtaPioDriver.WriteTaskfile(command, lba, count);
        Cpu.OutByte(BmCommand, (byte)(direction | IdeBusMasterRegisters.CommandStart));
#if !PARAVIRT_PARA
        if (_interrupts)
            Events.WaitForInterrupt(AtaRegisters.InterruptLine); // then Status below acknowledges INTRQ
#endif
        int s = WaitDone();
        Cpu.OutByte(BmCommand, direction); // Stop: the next Start must be a 0-to-1 transition
        return s;
    }

    /// <summary>Polls Status until BSY and DRQ clear; ERR or DF fails (then Error and Bus Master Status are read).</summary>
    private int WaitDone()
    {
        for (int i = 0; i < PollLimit; i++)
        {
            byte status = Cpu.InByte(StatusCommand);
            if ((status & (StatusBusy | StatusDrq)) != 0 && (status & (StatusError | StatusFault)) == 0)
                continue; // the transfer is still going (or the table was too short: times out)
            LastStatus = status;
            if ((status & (StatusError | StatusFault)) != 0)
                return Failed(status);
            LastError = 0;
            LastBusMasterStatus = 0;
            return DriverStatus.Ok;
        }
        LastBusMasterStatus = Cpu.InByte(BmStatus);
        return DriverStatus.Timeout;
    }

    private int Failed(byte status)
    {
        LastStatus = status;
        LastError = (status & StatusError) != 0 ? Cpu.InByte(ErrorPort) : (byte)0;
        LastBusMasterStatus = Cpu.InByte(BmStatus);
        // Clear the bus master's Error/Interrupt bits for the next request (write 1 to clear).
        Cpu.OutByte(BmStatus, (byte)(LastBusMasterStatus | IdeBusMasterRegisters.StatusError | IdeBusMasterRegisters.StatusInterrupt));
        return DriverStatus.DeviceError;
    }
}
