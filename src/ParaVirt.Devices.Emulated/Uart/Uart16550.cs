using System;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Console;

namespace ParaVirt.Devices.Emulated.Uart;

/// <summary>
/// A National Semiconductor PC16550D UART at register level (8 ports, COM1 at 0x3F8 on a PC).
/// Transmit is immediate: a byte written to THR goes straight to the <see cref="GuestConsole"/>, so
/// LSR.THRE and LSR.TEMT always read 1. Receive pulls host input from
/// <see cref="GuestConsole.ReadInput"/> into a 16-byte receive FIFO (1 byte deep when the FIFO is
/// disabled, as a 16450's holding register).
/// </summary>
/// <remarks>
/// <para>Registers (offset: read / write): 0 RBR / THR (DLL when LCR.DLAB=1); 1 IER (DLM when DLAB);
/// 2 IIR / FCR; 3 LCR; 4 MCR; 5 LSR (writes ignored: factory test); 6 MSR (writes ignored); 7 SCR.
/// A 2- or 4-byte access is split into byte accesses at consecutive offsets, as the ISA bus splits
/// it. Nothing allocates per access; no register sequence throws.</para>
/// <para>Interrupt identification follows the datasheet priorities: receiver line status (0x06,
/// overrun in loopback), received data available (0x04, FIFO at or above the trigger level),
/// character timeout (0x0C: reported at once when the FIFO holds fewer bytes than the trigger level,
/// without the four character times a real part waits), THR empty (0x02: raised when IER.ETBEI is
/// set and after each THR write, cleared by reading IIR while it is the reported source or by
/// writing THR), modem status (0x00: MSR delta bits). IIR bits 7:6 read 11 when the FIFO is enabled.</para>
/// <para>Loopback (MCR bit 4): THR feeds the receive FIFO instead of the console, host input is not
/// taken, and MSR bits 4-7 reflect MCR RTS, DTR, OUT1, OUT2 (CTS, DSR, RI, DCD). Outside loopback
/// the modem inputs read CTS, DSR and DCD asserted (a connected terminal).</para>
/// <para>Input arrives only when the guest looks: reads of RBR, IIR and LSR pull pending host input;
/// the host calls <see cref="PollInput"/> before it checks <see cref="IrqAsserted"/> so that input
/// can raise an interrupt while the guest is idle.</para>
/// </remarks>
/// <example>
/// <code>
/// var uart = new Uart16550(vm.Console);
/// vm.PortBus.Register(0x3F8, Uart16550.PortCount, uart);
/// // guest: out 0x3FB,0x80; out 0x3F8,1; out 0x3F9,0; out 0x3FB,3; out 0x3FA,0xC7; out 0x3F8,'A'
/// uart.PollInput();
/// if (uart.IrqAsserted) { /* deliver IRQ4 */ }
/// </code>
/// </example>
public sealed class Uart16550 : IBusDevice
{
    /// <summary>Ports the UART claims.</summary>
    public const int PortCount = 8;

    /// <summary>Depth of the receive FIFO.</summary>
    public const int FifoDepth = 16;

    // LSR bits.
    private const byte LsrDataReady = 0x01, LsrOverrun = 0x02, LsrThrEmpty = 0x20, LsrTransmitterEmpty = 0x40;
    // IER bits.
    private const byte IerReceivedData = 0x01, IerThrEmpty = 0x02, IerLineStatus = 0x04, IerModemStatus = 0x08;
    // MCR bits.
    private const byte McrDtr = 0x01, McrRts = 0x02, McrOut1 = 0x04, McrOut2 = 0x08, McrLoop = 0x10;
    // MSR input bits.
    private const byte MsrCts = 0x10, MsrDsr = 0x20, MsrRi = 0x40, MsrDcd = 0x80;

    private readonly GuestConsole _console;
    private readonly byte[] _fifo = new byte[FifoDepth];
    private int _fifoHead, _fifoCount;
    private byte _ier, _lcr, _mcr, _scr, _dll = 0x0C, _dlm, _lsrErrors, _msrDeltas;
    private bool _fifoEnabled, _thrInterrupt;
    private int _triggerLevel = 1;
    private long _reads, _writes;

    /// <summary>Creates a UART transmitting to and receiving from <paramref name="console"/>. Registers start at their reset values.</summary>
    public Uart16550(GuestConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        _console = console;
    }

    /// <inheritdoc/>
    public string Name => "uart16550";

    /// <summary>Register reads the UART has handled (one per byte register accessed).</summary>
    public long Reads => _reads;

    /// <summary>Register writes the UART has handled (one per byte register accessed).</summary>
    public long Writes => _writes;

    /// <summary>The divisor latch (DLM:DLL); the baud rate is 115200 / divisor. Informational only.</summary>
    public int Divisor => (_dlm << 8) | _dll;

    /// <summary>Bytes waiting in the receive FIFO.</summary>
    public int ReceiveFifoCount => _fifoCount;

    /// <summary>Whether the chip's INTR output is active: IIR bit 0 would read 0.</summary>
    public bool InterruptPending => InterruptId() != 0x01;

    /// <summary>
    /// Whether the PC's IRQ line (IRQ4 for COM1) is asserted: <see cref="InterruptPending"/> gated
    /// by MCR.OUT2, as the PC wires it; forced off in loopback, where OUT2 is internal.
    /// </summary>
    public bool IrqAsserted => (_mcr & (McrOut2 | McrLoop)) == McrOut2 && InterruptPending;

    /// <summary>Pulls pending host input into the receive FIFO (not in loopback). Call on the vCPU thread.</summary>
    public void PollInput()
    {
        if ((_mcr & McrLoop) != 0)
            return;
        int capacity = _fifoEnabled ? FifoDepth : 1;
        for (int pass = 0; pass < 2 && _fifoCount < capacity; pass++)
        {
            int tail = (_fifoHead + _fifoCount) % FifoDepth;
            int room = Math.Min(capacity - _fifoCount, FifoDepth - tail);
            int got = _console.ReadInput(_fifo.AsSpan(tail, room));
            if (got == 0)
                break;
            _fifoCount += got;
        }
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
            data[i] = ReadRegister((int)(offset & 7) + i);
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
            WriteRegister((int)(offset & 7) + i, data[i]);
    }

    private bool Dlab => (_lcr & 0x80) != 0;

    private byte ReadRegister(int register)
    {
        _reads++;
        switch (register)
        {
            case 0:
                if (Dlab)
                    return _dll;
                return PopReceived();
            case 1:
                return Dlab ? _dlm : _ier;
            case 2:
            {
                PollInput();
                byte id = InterruptId();
                if (id == 0x02)
                    _thrInterrupt = false; // reading IIR acknowledges a THRE interrupt it reports
                return (byte)(id | (_fifoEnabled ? 0xC0 : 0x00));
            }
            case 3:
                return _lcr;
            case 4:
                return _mcr;
            case 5:
            {
                PollInput();
                byte lsr = (byte)(LsrThrEmpty | LsrTransmitterEmpty | _lsrErrors | (_fifoCount > 0 ? LsrDataReady : 0));
                _lsrErrors = 0; // OE (the only error we produce) clears on read
                return lsr;
            }
            case 6:
            {
                byte msr = (byte)(ModemInputs() | _msrDeltas);
                _msrDeltas = 0;
                return msr;
            }
            case 7:
                return _scr;
            default:
                return 0xFF; // cannot happen: the bus bounds accesses to the 8 claimed ports
        }
    }

    private void WriteRegister(int register, byte value)
    {
        _writes++;
        switch (register)
        {
            case 0:
                if (Dlab)
                {
                    _dll = value;
                    return;
                }
                if ((_mcr & McrLoop) != 0)
                    PushReceived(value);
                else
                    _console.WriteByte(value);
                _thrInterrupt = true; // the holding register empties at once
                return;
            case 1:
                if (Dlab)
                {
                    _dlm = value;
                    return;
                }
                if ((value & IerThrEmpty) != 0 && (_ier & IerThrEmpty) == 0)
                    _thrInterrupt = true; // enabling ETBEI with THR empty raises THRE
                _ier = (byte)(value & 0x0F);
                return;
            case 2:
                WriteFifoControl(value);
                return;
            case 3:
                _lcr = value;
                return;
            case 4:
            {
                byte before = ModemInputs();
                _mcr = (byte)(value & 0x1F);
                byte after = ModemInputs();
                byte changed = (byte)(before ^ after);
                if ((changed & MsrCts) != 0) _msrDeltas |= 0x01;
                if ((changed & MsrDsr) != 0) _msrDeltas |= 0x02;
                if ((before & MsrRi) != 0 && (after & MsrRi) == 0) _msrDeltas |= 0x04; // trailing edge of RI
                if ((changed & MsrDcd) != 0) _msrDeltas |= 0x08;
                return;
            }
            case 7:
                _scr = value;
                return;
            default:
                return; // LSR and MSR writes (factory test) are ignored
        }
    }

    private void WriteFifoControl(byte value)
    {
        bool enable = (value & 0x01) != 0;
        if (enable != _fifoEnabled)
        {
            // Changing FCR0 clears both FIFOs.
            _fifoEnabled = enable;
            _fifoHead = _fifoCount = 0;
        }
        if (!enable)
            return; // the other FCR bits are only programmed while FCR0 is 1
        if ((value & 0x02) != 0)
            _fifoHead = _fifoCount = 0; // receiver FIFO reset; the transmit FIFO is always empty
        _triggerLevel = (value >> 6) switch
        {
            0 => 1,
            1 => 4,
            2 => 8,
            _ => 14,
        };
    }

    private byte PopReceived()
    {
        if (_fifoCount == 0)
            PollInput();
        if (_fifoCount == 0)
            return 0; // RBR with nothing received: reads 0, changes nothing
        byte value = _fifo[_fifoHead];
        _fifoHead = (_fifoHead + 1) % FifoDepth;
        _fifoCount--;
        if (_fifoCount == 0)
            _fifoHead = 0;
        return value;
    }

    private void PushReceived(byte value)
    {
        int capacity = _fifoEnabled ? FifoDepth : 1;
        if (_fifoCount >= capacity)
        {
            _lsrErrors |= LsrOverrun; // the new character is lost
            return;
        }
        _fifo[(_fifoHead + _fifoCount) % FifoDepth] = value;
        _fifoCount++;
    }

    private byte ModemInputs()
    {
        if ((_mcr & McrLoop) == 0)
            return MsrCts | MsrDsr | MsrDcd;
        byte msr = 0;
        if ((_mcr & McrRts) != 0) msr |= MsrCts;
        if ((_mcr & McrDtr) != 0) msr |= MsrDsr;
        if ((_mcr & McrOut1) != 0) msr |= MsrRi;
        if ((_mcr & McrOut2) != 0) msr |= MsrDcd;
        return msr;
    }

    private byte InterruptId()
    {
        if ((_ier & IerLineStatus) != 0 && _lsrErrors != 0)
            return 0x06;
        if ((_ier & IerReceivedData) != 0 && _fifoCount > 0)
            return !_fifoEnabled || _fifoCount >= _triggerLevel ? (byte)0x04 : (byte)0x0C;
        if ((_ier & IerThrEmpty) != 0 && _thrInterrupt)
            return 0x02;
        if ((_ier & IerModemStatus) != 0 && _msrDeltas != 0)
            return 0x00;
        return 0x01;
    }
}
