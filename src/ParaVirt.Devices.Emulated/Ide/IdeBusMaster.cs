using System;
using ParaVirt.Abi.Legacy;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Memory;
using ParaVirt.Devices.Emulated.Ata;

namespace ParaVirt.Devices.Emulated.Ide;

/// <summary>
/// The primary channel's bus-master IDE function of a PIIX (8 ports at
/// <see cref="IdeBusMasterRegisters.Base"/>): the Command, Status and Descriptor Table Pointer
/// registers, over the <see cref="AtaPioDisk"/> drive whose taskfile receives READ DMA / WRITE DMA.
/// The data moves by <see cref="IdeDmaEngine"/> along the guest's PRD table
/// (<see cref="PrdTableWalker"/>), synchronously: the transfer runs inside the exit that completes
/// the pair "DMA command in the drive" and "Start bit set" (whichever comes second).
/// </summary>
/// <remarks>
/// <para><b>Registers.</b> Offset 0 Command (bit 0 Start/Stop, bit 3 Read/Write Control; other bits
/// read 0), 2 Status (bit 0 Active read only, bits 1 Error and 2 Interrupt write-1-to-clear, bits 5-6
/// drive DMA capable read/write), 4-7 the table address (bits 1:0 read 0). Offsets 1 and 3 are
/// reserved: reads 0, writes dropped. A wider access is split into byte accesses at consecutive
/// offsets.</para>
/// <para><b>Sequencing</b> (PIIX, SFF-8038i): a 0-to-1 transition of Start sets Active and restarts
/// at the table's first entry; writing Start 0 clears Active (what the table had not moved is lost).
/// A write that keeps Start as it is starts nothing. After a complete transfer Active stays set when
/// the table holds more than the command moved, and clears when the End Of Table region was used up
/// exactly. A table shorter than the command clears Active without an interrupt and leaves the
/// drive waiting with DRQ (the guest resets it, SRST, or issues another command). Start without a
/// DMA command in the drive waits (Active set) until one arrives; a DMA command without Start waits
/// with DRQ until Start. The Interrupt bit follows the drive's INTRQ pin: set when the drive raises
/// INTRQ while nIEN is clear.</para>
/// <para><b>Hostile tables</b> stop with Error set, Active clear, and the drive's command ended with
/// ERR and ABRT (<see cref="IdeDmaError"/>): a table or region outside RAM, a table without EOT before
/// its 64 KiB boundary, a direction bit that contradicts the command. A request past the end of the
/// disk never reaches the engine: the drive refuses it with IDNF. No guest value can make the device
/// touch host memory outside guest RAM, throw, or work more than 8,192 entries per start.</para>
/// </remarks>
/// <example><code>
/// var busMaster = new IdeBusMaster(drive, vm.WritableMemory);
/// vm.PortBus.Register(IdeBusMasterRegisters.Base, IdeBusMasterRegisters.Length, busMaster);
/// // guest: PRD table address once; per request: taskfile + READ DMA, Start|ToMemory, Status, Stop
/// </code></example>
public sealed class IdeBusMaster : IBusDevice
{
    private const byte CommandMask = IdeBusMasterRegisters.CommandStart | IdeBusMasterRegisters.CommandToMemory;
    private const byte StatusWritable = IdeBusMasterRegisters.StatusDrive0Capable | IdeBusMasterRegisters.StatusDrive1Capable;
    private const byte StatusWriteOneToClear = IdeBusMasterRegisters.StatusError | IdeBusMasterRegisters.StatusInterrupt;

    private readonly AtaPioDisk _drive;
    private readonly GuestMemory _memory;
    private readonly IdeDmaEngine _engine = new();
    private PrdTableWalker _walker;
    private byte _command, _status;
    private uint _tableAddress;
    private long _transfers, _errors, _shortTables;
    private IdeDmaError _lastError;

    /// <summary>Attaches the bus master to <paramref name="drive"/>, moving data in <paramref name="memory"/> (the VM's writable view of RAM).</summary>
    /// <exception cref="InvalidOperationException">The drive already has a bus master.</exception>
    public IdeBusMaster(AtaPioDisk drive, GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(drive);
        ArgumentNullException.ThrowIfNull(memory);
        _drive = drive;
        _memory = memory;
        _status = IdeBusMasterRegisters.StatusDrive0Capable;
        drive.AttachBusMaster(this);
    }

    /// <inheritdoc/>
    public string Name => "ide0-busmaster";

    /// <summary>The drive on this channel.</summary>
    public AtaPioDisk Drive => _drive;

    /// <summary>The Status register's value.</summary>
    public byte Status => _status;

    /// <summary>The Command register's value.</summary>
    public byte Command => _command;

    /// <summary>The Descriptor Table Pointer register's value.</summary>
    public uint TableAddress => _tableAddress;

    /// <summary>Transfers that moved every byte of their command.</summary>
    public long Transfers => _transfers;

    /// <summary>Transfers stopped with the Error bit.</summary>
    public long Errors => _errors;

    /// <summary>Transfers whose table ended before the command's data.</summary>
    public long ShortTables => _shortTables;

    /// <summary>Why the last error stopped a transfer (<see cref="IdeDmaError.None"/> if none has).</summary>
    public IdeDmaError LastError => _lastError;

    /// <summary>PRD entries loaded since the last start.</summary>
    public int EntriesLoaded => _walker.EntriesLoaded;

    /// <summary>Bytes moved between guest memory and the disk over the device's life.</summary>
    public long BytesMoved => _engine.BytesMoved;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
            data[i] = ReadRegister((int)offset + i);
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
            WriteRegister((int)offset + i, data[i]);
    }

    private byte ReadRegister(int offset) => offset switch
    {
        0 => _command,
        2 => _status,
        >= 4 and <= 7 => (byte)(_tableAddress >> ((offset - 4) * 8)),
        _ => 0,
    };

    private void WriteRegister(int offset, byte value)
    {
        switch (offset)
        {
            case 0:
                WriteCommand(value);
                break;
            case 2:
                _status = (byte)((_status & ~(StatusWritable | (value & StatusWriteOneToClear))) | (value & StatusWritable));
                break;
            case >= 4 and <= 7:
                int shift = (offset - 4) * 8;
                _tableAddress = (uint)((_tableAddress & ~(0xFFu << shift)) | ((uint)value << shift)) & ~3u;
                break;
        }
    }

    private void WriteCommand(byte value)
    {
        bool wasStarted = (_command & IdeBusMasterRegisters.CommandStart) != 0;
        _command = (byte)(value & CommandMask);
        bool started = (_command & IdeBusMasterRegisters.CommandStart) != 0;
        if (started == wasStarted)
            return; // a write that keeps Start as it is starts and stops nothing
        if (!started)
        {
            _status &= unchecked((byte)~IdeBusMasterRegisters.StatusActive);
            return;
        }
        _walker.Restart(_tableAddress);
        _status |= IdeBusMasterRegisters.StatusActive;
        Run();
    }

    /// <summary>The drive accepted a DMA command: transfer now if the engine is active.</summary>
    internal void OnDriveDmaRequest() => Run();

    /// <summary>The drive raised INTRQ: the Interrupt bit follows the pin (driven only with nIEN clear).</summary>
    internal void OnDriveInterrupt()
    {
        if (_drive.IrqAsserted)
            _status |= IdeBusMasterRegisters.StatusInterrupt;
    }

    private void Run()
    {
        if ((_status & IdeBusMasterRegisters.StatusActive) == 0 || !_drive.DmaPending)
            return;
        bool toMemory = _drive.DmaToMemory;
        if (((_command & IdeBusMasterRegisters.CommandToMemory) != 0) != toMemory)
        {
            Fail(IdeDmaError.DirectionMismatch);
            return;
        }
        IdeDmaOutcome outcome = _engine.Transfer(_memory, ref _walker, _drive.Disk, _drive.DmaSector, _drive.DmaSectors, toMemory, out IdeDmaError error);
        switch (outcome)
        {
            case IdeDmaOutcome.Complete:
                _transfers++;
                if (_walker.AtEnd)
                    _status &= unchecked((byte)~IdeBusMasterRegisters.StatusActive);
                _drive.CompleteDma();
                break;
            case IdeDmaOutcome.TableTooShort:
                // PIIX: Active clears, no interrupt; the drive still waits for the rest of its data.
                _shortTables++;
                _status &= unchecked((byte)~IdeBusMasterRegisters.StatusActive);
                break;
            case IdeDmaOutcome.BusError:
                Fail(error);
                break;
            default:
                _status &= unchecked((byte)~IdeBusMasterRegisters.StatusActive);
                _drive.FailDma(diskFault: true);
                break;
        }
    }

    private void Fail(IdeDmaError error)
    {
        _errors++;
        _lastError = error;
        _status = (byte)((_status | IdeBusMasterRegisters.StatusError) & ~IdeBusMasterRegisters.StatusActive);
        _drive.FailDma(diskFault: false);
    }
}
