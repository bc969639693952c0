using System;
using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated.Ide;

namespace ParaVirt.Devices.Emulated.Ata;

/// <summary>
/// An ATA disk in PIO mode on the primary channel, master position, over a <see cref="DiskImage"/>:
/// the command block (8 ports at 0x1F0) is this object; the control block (0x3F6) is
/// <see cref="ControlBlock"/>. Commands: IDENTIFY DEVICE (ECh), READ SECTORS (20h/21h), WRITE
/// SECTORS (30h/31h), READ VERIFY SECTORS (40h/41h), FLUSH CACHE (E7h), EXECUTE DEVICE DIAGNOSTIC
/// (90h), INITIALIZE DEVICE PARAMETERS (91h), SET FEATURES (EFh), RECALIBRATE (10h), IDLE/STANDBY
/// IMMEDIATE (E1h/E0h), CHECK POWER MODE (E5h); anything else ends with ERR and ABRT. Addressing is
/// 28-bit LBA (device register bit 6) or CHS through the current translation. With an
/// <see cref="IdeBusMaster"/> attached, READ DMA (C8h/C9h) and WRITE DMA (CAh/CBh) move their data
/// through it (see that type); without one they end with ERR and ABRT.
/// </summary>
/// <remarks>
/// <para><b>Data transfer.</b> The data register (offset 0) moves one 16-bit word per 2-byte access
/// and two words (low word first) per 4-byte access. Data moves word by word whichever way the guest
/// issues it: each <c>in ax, dx</c> is one exit and one call; a <c>rep insw</c> reaches the host as
/// one exit with a count, and the port bus calls <see cref="Read"/> once per element, so 256
/// consecutive calls drain one 512-byte block exactly as 256 separate exits do. A 1-byte access to
/// the data register transfers nothing: it reads 0xFF and a write is dropped (counted in
/// <see cref="StrayDataAccesses"/>). Other registers split wider accesses into byte accesses at
/// consecutive offsets, as the ISA bus does.</para>
/// <para><b>Status sequencing.</b> Idle status is DRDY|DSC (50h). After READ SECTORS or IDENTIFY,
/// DRQ is set with a 512-byte block ready and INTRQ is raised; after the 256th word the next block
/// is loaded (DRQ again, INTRQ again) or the command completes (DRQ clear, no interrupt, as PIO-in
/// specifies). After WRITE SECTORS, DRQ asks for the first block at once (no interrupt); when a
/// block's 256th word arrives it is written to the disk, then DRQ asks for the next block or the
/// command completes, each with INTRQ. The backend is synchronous, so BSY is never observed set
/// except while SRST is held (then every command block register and Alternate Status read 80h, as
/// ATA specifies for BSY=1). The Sector Count and LBA registers follow the transfer: after each
/// block, LBA (in LBA mode) holds the last sector transferred and Sector Count the sectors left.</para>
/// <para><b>Interrupts.</b> <see cref="InterruptPending"/> is the device's INTRQ, cleared by a read
/// of the Status register (not Alternate Status) or by a new command; <see cref="IrqAsserted"/> is
/// the IRQ14 line: INTRQ with nIEN clear and device 0 selected. The PC's interrupt controller
/// sees IRQ14 edge-triggered: <see cref="InterruptLineRaised"/> is called on each rising edge of
/// the line (a completion with nIEN clear, or nIEN cleared while INTRQ is pending), on the thread
/// of the access that caused it; the machine builder turns it into the guest's vector 0x2E.</para>
/// <para><b>Hostile sequences</b> (details in docs/emulated-devices.md):
/// a data read with no PIO-in transfer pending returns 0 and changes nothing (as QEMU does; ATA calls
/// it indeterminate); a data write with no PIO-out transfer is dropped.
/// A command written while DRQ is set: ATA/ATAPI-6 makes the outcome indeterminate (the host shall
/// not), QEMU ignores the new command; this device abandons the old transfer (a partial write block
/// is discarded; blocks already completed stay written) and executes the new command.
/// A request reaching past the end of the disk (or a CHS address outside the translation) ends at
/// once with ERR and IDNF, transferring nothing. A host I/O failure ends the command with
/// DRDY|DF|ERR and ABRT. WRITE SECTORS on a read-only image ends with ERR and ABRT before any data.
/// With device 1 (absent) selected, Status and Alternate Status read 00h as ATA specifies for a
/// single-device channel, other registers read back what was written, commands other than EXECUTE
/// DEVICE DIAGNOSTIC are ignored, and INTRQ is not driven. SRST held: commands and register writes
/// are ignored; on release the registers hold the ATA signature (count 01h, LBA 01h/00h/00h, device
/// 00h), Error 01h and status 50h.</para>
/// </remarks>
/// <example>
/// <code>
/// using var image = DiskImage.Open("disk.img");
/// var disk = new AtaPioDisk(image);
/// vm.PortBus.Register(AtaPioDisk.CommandBlockBase, AtaPioDisk.CommandBlockLength, disk);
/// vm.PortBus.Register(AtaPioDisk.ControlBlockPort, 1, disk.ControlBlock);
/// // guest: out 1F6h,E0h; out 1F2h,1; out 1F3h..1F5h,lba; out 1F7h,20h; poll 1F7h for DRQ; rep insw x256
/// </code>
/// </example>
public sealed class AtaPioDisk : IBusDevice
{
    /// <summary>Base port of the primary channel's command block.</summary>
    public const ushort CommandBlockBase = AtaRegisters.CommandBlockBase;

    /// <summary>Ports in the command block.</summary>
    public const int CommandBlockLength = AtaRegisters.CommandBlockLength;

    /// <summary>The primary channel's control block port (Alternate Status / Device Control).</summary>
    public const ushort ControlBlockPort = AtaRegisters.DeviceControl;

    private const byte Idle = AtaStatus.Ready | AtaStatus.SeekComplete;
    private const byte DeviceSelectBit = AtaRegisters.DeviceSelect1, LbaModeBit = AtaRegisters.DeviceLba;
    private const byte ControlNoInterrupt = AtaRegisters.ControlNoInterrupt, ControlSoftReset = AtaRegisters.ControlSoftReset;

    private enum TransferKind : byte { None, PioIn, PioOut, Dma }

    private readonly DiskImage _disk;
    private readonly byte[] _block = new byte[DiskImage.SectorSize];
    private readonly string _model, _serial, _firmware;
    private AtaGeometry _geometry;

    private byte _features, _error, _sectorCount, _lbaLow, _lbaMid, _lbaHigh, _device, _status, _control;
    private bool _line; // IrqAsserted as last reported to InterruptLineRaised
    private bool _interrupt, _inReset, _readsFromDisk, _lbaMode, _dmaToMemory;
    private IdeBusMaster? _busMaster;
    private TransferKind _transfer;
    private int _blockOffset, _sectorsLeft;
    private ulong _sector;
    private long _reads, _writes, _dataWords, _strayData, _commands;

    /// <summary>Creates the master disk over <paramref name="disk"/>, at power-on state (signature in the registers, status 50h).</summary>
    public AtaPioDisk(DiskImage disk, string model = "PARAVIRT ATA DISK", string serial = "PV00000001", string firmware = "1.0")
    {
        ArgumentNullException.ThrowIfNull(disk);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(serial);
        ArgumentNullException.ThrowIfNull(firmware);
        _disk = disk;
        _model = model;
        _serial = serial;
        _firmware = firmware;
        _geometry = new AtaGeometry(disk.SectorCount);
        ControlBlock = new AtaControlBlock(this);
        SetSignature();
    }

    /// <inheritdoc/>
    public string Name => "ata0";

    /// <summary>The control block device to register at <see cref="ControlBlockPort"/>.</summary>
    public AtaControlBlock ControlBlock { get; }

    /// <summary>The disk behind the drive.</summary>
    public DiskImage Disk => _disk;

    /// <summary>Accesses to either block that read (one per bus call).</summary>
    public long Reads => _reads;

    /// <summary>Accesses to either block that wrote (one per bus call).</summary>
    public long Writes => _writes;

    /// <summary>16-bit words moved through the data register as part of a transfer.</summary>
    public long DataWordsTransferred => _dataWords;

    /// <summary>Data register accesses that moved nothing (no transfer pending, wrong direction, byte-sized, device 1).</summary>
    public long StrayDataAccesses => _strayData;

    /// <summary>Commands written to the command register and executed (device 0).</summary>
    public long Commands => _commands;

    /// <summary>The device's INTRQ: an interrupt is pending until Status is read or a command is written.</summary>
    public bool InterruptPending => _interrupt;

    /// <summary>The IRQ14 line: <see cref="InterruptPending"/> while nIEN is clear and device 0 is selected.</summary>
    public bool IrqAsserted => _interrupt && (_control & ControlNoInterrupt) == 0 && (_device & DeviceSelectBit) == 0 && !_inReset;

    /// <summary>
    /// Called on each rising edge of <see cref="IrqAsserted"/> (IRQ14 is edge-triggered on the PC),
    /// on the thread of the access that raised it. Null: nobody listens (a polled platform).
    /// </summary>
    /// <example><code>
    /// disk.InterruptLineRaised = () =&gt; cpu.Raise(AtaRegisters.InterruptLine);   // vector 0x2E
    /// </code></example>
    public Action? InterruptLineRaised { get; set; }

    /// <summary>Rising edges of <see cref="IrqAsserted"/> seen so far.</summary>
    public long InterruptEdges { get; private set; }

    /// <summary>Recomputes the line after anything that may change it; reports a rising edge.</summary>
    private void UpdateLine()
    {
        bool now = IrqAsserted;
        if (now && !_line)
        {
            InterruptEdges++;
            InterruptLineRaised?.Invoke();
        }
        _line = now;
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        _reads++;
        if (offset == 0)
        {
            ReadData(data);
            UpdateLine(); // a block boundary raises INTRQ
            return;
        }
        for (int i = 0; i < data.Length; i++)
            data[i] = ReadRegister((int)offset + i);
        UpdateLine(); // a Status read lowers it
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        _writes++;
        if (offset == 0)
        {
            WriteData(data);
            UpdateLine();
            return;
        }
        for (int i = 0; i < data.Length; i++)
            WriteRegister((int)offset + i, data[i]);
        UpdateLine(); // a command completes (or clears INTRQ), a device select gates the line
    }

    private bool Device1Selected => (_device & DeviceSelectBit) != 0;

    /// <summary>The bus master attached to this drive (READ DMA / WRITE DMA work only with one), or null.</summary>
    public IdeBusMaster? BusMaster => _busMaster;

    /// <summary>Called once by <see cref="IdeBusMaster"/>'s constructor.</summary>
    internal void AttachBusMaster(IdeBusMaster busMaster)
    {
        if (_busMaster is not null)
            throw new InvalidOperationException("the drive already has a bus master");
        _busMaster = busMaster;
    }

    /// <summary>A DMA command waits for its data (DRQ set): what the bus master transfers.</summary>
    internal bool DmaPending => _transfer == TransferKind.Dma && !_inReset;

    /// <summary>The pending DMA command reads the disk (READ DMA: the engine writes memory).</summary>
    internal bool DmaToMemory => _dmaToMemory;

    /// <summary>The pending DMA command's first sector.</summary>
    internal ulong DmaSector => _sector;

    /// <summary>The pending DMA command's sector count (1-256).</summary>
    internal int DmaSectors => _sectorsLeft;

    /// <summary>The bus master moved every byte: the command completes (registers report the last sector, INTRQ).</summary>
    internal void CompleteDma()
    {
        _sector += (ulong)(_sectorsLeft - 1);
        _sectorsLeft = 0;
        ReportProgress();
        Complete();
    }

    /// <summary>The bus master stopped: the command ends with ERR and ABRT (and DF for a host I/O failure).</summary>
    internal void FailDma(bool diskFault) => Fail(diskFault ? AtaStatus.DeviceFault : (byte)0, AtaError.Aborted);

    private void RaiseInterrupt()
    {
        _interrupt = true;
        _busMaster?.OnDriveInterrupt();
        UpdateLine(); // also reached from the bus master's Start, outside this device's accesses
    }

    internal byte ReadAlternateStatus()
    {
        _reads++;
        if (_inReset)
            return AtaStatus.Busy;
        return Device1Selected ? (byte)0 : _status;
    }

    internal void WriteDeviceControl(byte value)
    {
        _writes++;
        bool wasReset = (_control & ControlSoftReset) != 0;
        bool reset = (value & ControlSoftReset) != 0;
        _control = value;
        if (reset && !wasReset)
        {
            _inReset = true;
            _transfer = TransferKind.None;
            _interrupt = false;
        }
        else if (!reset && wasReset)
        {
            _inReset = false;
            SetSignature();
        }
        UpdateLine(); // clearing nIEN with INTRQ pending is a rising edge
    }

    private void SetSignature()
    {
        _transfer = TransferKind.None;
        _sectorCount = 0x01;
        _lbaLow = 0x01;
        _lbaMid = 0x00;
        _lbaHigh = 0x00;
        _device = 0x00;
        _error = AtaError.DiagnosticPassed;
        _status = Idle;
        _interrupt = false;
    }

    private byte ReadRegister(int register)
    {
        if (_inReset)
            return AtaStatus.Busy; // BSY=1: every command block register reads as Status
        switch (register)
        {
            case 1: return _error;
            case 2: return _sectorCount;
            case 3: return _lbaLow;
            case 4: return _lbaMid;
            case 5: return _lbaHigh;
            case 6: return _device;
            case 7:
                if (Device1Selected)
                    return 0;
                _interrupt = false; // reading Status acknowledges INTRQ
                return _status;
            default:
                return 0xFF;
        }
    }

    private void WriteRegister(int register, byte value)
    {
        if (_inReset)
            return;
        switch (register)
        {
            case 1: _features = value; break;
            case 2: _sectorCount = value; break;
            case 3: _lbaLow = value; break;
            case 4: _lbaMid = value; break;
            case 5: _lbaHigh = value; break;
            case 6: _device = value; break;
            case 7: WriteCommand(value); break;
        }
        _control &= 0x7F; // a command block write clears HOB
    }

    private void ReadData(Span<byte> data)
    {
        if (data.Length == 1 || _transfer != TransferKind.PioIn || Device1Selected || _inReset)
        {
            // Nothing to deliver: 0 (0xFF for a byte access) and no state change.
            data.Fill(data.Length == 1 ? (byte)0xFF : (byte)0);
            _strayData++;
            return;
        }
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            if (_transfer != TransferKind.PioIn)
            {
                // The first word of a 32-bit access ended the command: the second reads 0.
                data[i] = 0;
                data[i + 1] = 0;
                _strayData++;
                continue;
            }
            data[i] = _block[_blockOffset];
            data[i + 1] = _block[_blockOffset + 1];
            _blockOffset += 2;
            _dataWords++;
            if (_blockOffset == DiskImage.SectorSize)
                FinishReadBlock();
        }
    }

    private void WriteData(ReadOnlySpan<byte> data)
    {
        if (data.Length == 1 || _transfer != TransferKind.PioOut || Device1Selected || _inReset)
        {
            _strayData++;
            return;
        }
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            if (_transfer != TransferKind.PioOut)
            {
                _strayData++;
                continue;
            }
            _block[_blockOffset] = data[i];
            _block[_blockOffset + 1] = data[i + 1];
            _blockOffset += 2;
            _dataWords++;
            if (_blockOffset == DiskImage.SectorSize)
                FinishWriteBlock();
        }
    }

    private void FinishReadBlock()
    {
        _sectorsLeft--;
        ReportProgress();
        if (_sectorsLeft == 0)
        {
            _transfer = TransferKind.None;
            _status = Idle; // PIO-in completion raises no interrupt
            return;
        }
        _sector++;
        _blockOffset = 0;
        if (_readsFromDisk && !_disk.TryRead(_sector, _block))
        {
            Fail(AtaStatus.DeviceFault, AtaError.Aborted);
            return;
        }
        _status = Idle | AtaStatus.DataRequest;
        RaiseInterrupt();
    }

    private void FinishWriteBlock()
    {
        if (!_disk.TryWrite(_sector, _block))
        {
            Fail(AtaStatus.DeviceFault, AtaError.Aborted);
            return;
        }
        _sectorsLeft--;
        ReportProgress();
        RaiseInterrupt();
        if (_sectorsLeft == 0)
        {
            _transfer = TransferKind.None;
            _status = Idle;
            return;
        }
        _sector++;
        _blockOffset = 0;
        _status = Idle | AtaStatus.DataRequest;
    }

    /// <summary>After a block: LBA registers hold the sector just moved (LBA mode), Sector Count what is left.</summary>
    private void ReportProgress()
    {
        _sectorCount = (byte)_sectorsLeft;
        if (!_lbaMode)
            return;
        _lbaLow = (byte)_sector;
        _lbaMid = (byte)(_sector >> 8);
        _lbaHigh = (byte)(_sector >> 16);
        _device = (byte)((_device & 0xF0) | (int)((_sector >> 24) & 0x0F));
    }

    private void Fail(byte extraStatus, byte error)
    {
        _transfer = TransferKind.None;
        _error = error;
        _status = (byte)(Idle | AtaStatus.Error | extraStatus);
        RaiseInterrupt();
    }

    private void Complete()
    {
        _transfer = TransferKind.None;
        _status = Idle;
        RaiseInterrupt();
    }

    private void WriteCommand(byte command)
    {
        if (Device1Selected)
        {
            // The absent device 1 executes nothing; device 0 answers EXECUTE DEVICE DIAGNOSTIC for both.
            if (command == AtaCommand.ExecuteDeviceDiagnostic)
                ExecuteDiagnostic();
            return;
        }
        _commands++;
        _transfer = TransferKind.None; // a new command abandons any transfer in progress
        _interrupt = false;
        _error = 0;
        switch (command)
        {
            case AtaCommand.IdentifyDevice:
                AtaIdentify.Build(_block, _geometry, _model, _serial, _firmware, dma: _busMaster is not null);
                StartPioIn(0, 1, fromDisk: false);
                break;
            case AtaCommand.ReadSectors:
            case AtaCommand.ReadSectorsNoRetry:
                if (TryDecodeRange(out ulong readStart, out int readCount))
                    StartPioIn(readStart, readCount, fromDisk: true);
                break;
            case AtaCommand.WriteSectors:
            case AtaCommand.WriteSectorsNoRetry:
                if (_disk.ReadOnly)
                    Fail(0, AtaError.Aborted);
                else if (TryDecodeRange(out ulong writeStart, out int writeCount))
                {
                    _sector = writeStart;
                    _sectorsLeft = writeCount;
                    _blockOffset = 0;
                    _transfer = TransferKind.PioOut;
                    _status = Idle | AtaStatus.DataRequest; // first block requested without an interrupt
                }
                break;
            case AtaCommand.ReadDma:
            case AtaCommand.ReadDmaNoRetry:
                StartDma(toMemory: true);
                break;
            case AtaCommand.WriteDma:
            case AtaCommand.WriteDmaNoRetry:
                if (_disk.ReadOnly)
                    Fail(0, AtaError.Aborted);
                else
                    StartDma(toMemory: false);
                break;
            case AtaCommand.ReadVerifySectors:
            case AtaCommand.ReadVerifySectorsNoRetry:
                if (TryDecodeRange(out _, out _))
                    Complete();
                break;
            case AtaCommand.FlushCache:
                if (_disk.TryFlush())
                    Complete();
                else
                    Fail(AtaStatus.DeviceFault, AtaError.Aborted);
                break;
            case AtaCommand.ExecuteDeviceDiagnostic:
                ExecuteDiagnostic();
                break;
            case AtaCommand.InitializeDeviceParameters:
                InitializeDeviceParameters();
                break;
            case AtaCommand.SetFeatures:
                SetFeatures();
                break;
            case AtaCommand.Recalibrate:
            case AtaCommand.StandbyImmediate:
            case AtaCommand.IdleImmediate:
                Complete();
                break;
            case AtaCommand.CheckPowerMode:
                _sectorCount = 0xFF; // active or idle
                Complete();
                break;
            default:
                Fail(0, AtaError.Aborted);
                break;
        }
    }

    private void StartPioIn(ulong start, int count, bool fromDisk)
    {
        _sector = start;
        _sectorsLeft = count;
        _blockOffset = 0;
        _readsFromDisk = fromDisk;
        if (fromDisk && !_disk.TryRead(start, _block))
        {
            Fail(AtaStatus.DeviceFault, AtaError.Aborted);
            return;
        }
        _transfer = TransferKind.PioIn;
        _status = Idle | AtaStatus.DataRequest;
        RaiseInterrupt();
    }

    /// <summary>READ DMA / WRITE DMA: DRQ set, the data waits for the bus master (ABRT without one, IDNF past the end).</summary>
    private void StartDma(bool toMemory)
    {
        if (_busMaster is null)
        {
            Fail(0, AtaError.Aborted);
            return;
        }
        if (!TryDecodeRange(out ulong start, out int count))
            return;
        _sector = start;
        _sectorsLeft = count;
        _dmaToMemory = toMemory;
        _transfer = TransferKind.Dma;
        _status = Idle | AtaStatus.DataRequest;
        _busMaster.OnDriveDmaRequest();
    }

    private void ExecuteDiagnostic()
    {
        SetSignature();
        RaiseInterrupt();
    }

    private void InitializeDeviceParameters()
    {
        int heads = (_device & 0x0F) + 1;
        int sectorsPerTrack = _sectorCount;
        if (sectorsPerTrack == 0)
        {
            Fail(0, AtaError.Aborted);
            return;
        }
        _geometry = _geometry.WithTranslation((ushort)heads, (ushort)sectorsPerTrack);
        Complete();
    }

    private void SetFeatures()
    {
        switch (_features)
        {
            case 0x02: // enable write cache
            case 0x82: // disable write cache (writes are synchronous either way)
            case 0x66: // keep current settings after reset
            case 0xCC: // revert to defaults after reset
                Complete();
                return;
            case 0x03: // set transfer mode: PIO default (00h/01h) or PIO flow control modes 0-4 (08h-0Ch)
                if (_sectorCount is 0x00 or 0x01 or (>= 0x08 and <= 0x0C))
                    Complete();
                else if (_busMaster is not null && _sectorCount is (>= 0x20 and <= 0x22) or (>= 0x40 and <= 0x45))
                    Complete(); // multiword DMA 0-2, Ultra DMA 0-5 (timing means nothing here)
                else
                    Fail(0, AtaError.Aborted); // no DMA modes without a bus master
                return;
            default:
                Fail(0, AtaError.Aborted);
                return;
        }
    }

    /// <summary>Decodes the address and count registers; on an address outside the disk fails with IDNF.</summary>
    private bool TryDecodeRange(out ulong start, out int count)
    {
        count = _sectorCount == 0 ? 256 : _sectorCount;
        _lbaMode = (_device & LbaModeBit) != 0;
        bool valid;
        if (_lbaMode)
        {
            start = (ulong)(_lbaLow | (_lbaMid << 8) | (_lbaHigh << 16) | ((_device & 0x0F) << 24));
            valid = true;
        }
        else
        {
            int cylinder = _lbaMid | (_lbaHigh << 8);
            int head = _device & 0x0F;
            int sector = _lbaLow;
            valid = sector >= 1 && sector <= _geometry.CurrentSectorsPerTrack && head < _geometry.CurrentHeads;
            start = ((ulong)cylinder * _geometry.CurrentHeads + (ulong)head) * _geometry.CurrentSectorsPerTrack + (ulong)(sector - 1);
        }
        if (!valid || !_disk.Contains(start, (ulong)count))
        {
            Fail(0, AtaError.IdNotFound);
            return false;
        }
        return true;
    }
}
