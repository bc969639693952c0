namespace ParaVirt.Guest.Drivers;

/// <summary>
/// A polled 16550 UART driver, programmed register by register through the <see cref="Cpu"/> seam
/// (in full mode every access is an <c>in</c>/<c>out</c> that exits to the host's emulated UART).
/// <see cref="Initialize"/> runs the usual PC sequence: interrupts off, 115200 baud through the
/// divisor latch, 8N1, FIFOs on and cleared, then a loopback self test (send 0xAE, expect it back),
/// then normal operation with DTR, RTS, OUT1, OUT2. It reads IIR to learn whether the transmit
/// FIFO is really there (bits 7:6 = 11 on a 16550A), as Linux's 8250 autoconfig does.
/// <see cref="WriteByte"/> polls LSR.THRE before every byte: two port accesses (two exits) per byte.
/// <see cref="Write"/> is what Linux's <c>serial8250_tx_chars</c> does: one LSR check, and once THRE
/// says the FIFO is empty, up to <see cref="FifoSize"/> THR writes: 1 + 1/16 exits per byte.
/// </summary>
/// <example><code>
/// var uart = new Uart16550Driver(0x3F8);
/// if (uart.Initialize() &lt; 0) return 1;
/// uart.WriteByte((byte)'A');   // in LSR, out THR
/// uart.Write(text, 64);        // 4 x (in LSR, 16 x out THR)
/// </code></example>
public sealed class Uart16550Driver
{
    private const int Rbr = 0, Thr = 0, Dll = 0, Ier = 1, Dlm = 1, Fcr = 2, Iir = 2, Lcr = 3, Mcr = 4, Lsr = 5;
    private const byte IirFifoEnabled = 0xC0;
    private const int TransmitFifoDepth = 16;
    private const byte LsrDataReady = 0x01, LsrThre = 0x20;
    private const byte LcrDlab = 0x80, Lcr8N1 = 0x03;
    private const byte FcrEnableClear14 = 0xC7;
    private const byte McrNormal = 0x0F, McrLoopback = 0x1E;
    private const byte LoopbackProbe = 0xAE;

    /// <summary>How many LSR reads a byte may wait for THRE before <see cref="DriverStatus.Timeout"/>.</summary>
    public const int PollLimit = 1_000_000;

    private readonly ushort _base;

    /// <summary>A driver for the UART at <paramref name="basePort"/> (0x3F8 for COM1).</summary>
    public Uart16550Driver(ushort basePort) => _base = basePort;

    /// <summary>Bytes <see cref="Write"/> sends per THRE check: 16 with a working FIFO (16550A), else 1. Known after <see cref="Initialize"/>.</summary>
    public int FifoSize { get; private set; } = 1;

    /// <summary>Programs the UART and runs the loopback self test. Returns 0, <see cref="DriverStatus.Faulty"/> or <see cref="DriverStatus.NoDevice"/>.</summary>
    public int Initialize()
    {
        Cpu.OutByte((ushort)(_base + Ier), 0x00);              // no interrupts: we poll
        Cpu.OutByte((ushort)(_base + Lcr), LcrDlab);           // divisor latch
        Cpu.OutByte((ushort)(_base + Dll), 0x01);              // 115200 baud
        Cpu.OutByte((ushort)(_base + Dlm), 0x00);
        Cpu.OutByte((ushort)(_base + Lcr), Lcr8N1);            // 8 data bits, no parity, 1 stop bit
        Cpu.OutByte((ushort)(_base + Fcr), FcrEnableClear14);  // FIFOs on, cleared, trigger 14
        FifoSize = (Cpu.InByte((ushort)(_base + Iir)) & IirFifoEnabled) == IirFifoEnabled ? TransmitFifoDepth : 1;
        Cpu.OutByte((ushort)(_base + Mcr), McrLoopback);       // self test
        Cpu.OutByte((ushort)(_base + Thr), LoopbackProbe);
        byte lsr = Cpu.InByte((ushort)(_base + Lsr));
        if (lsr == 0xFF)
            return DriverStatus.NoDevice;                      // floating bus: nothing there
        if ((lsr & LsrDataReady) == 0 || Cpu.InByte((ushort)(_base + Rbr)) != LoopbackProbe)
            return DriverStatus.Faulty;
        Cpu.OutByte((ushort)(_base + Mcr), McrNormal);
        return DriverStatus.Ok;
    }

    /// <summary>Waits for THRE, then writes <paramref name="value"/> to THR. Returns 0 or <see cref="DriverStatus.Timeout"/>.</summary>
    public int WriteByte(byte value)
    {
        ushort lsr = (ushort)(_base + Lsr);
        int polls = 0;
        while ((Cpu.InByte(lsr) & LsrThre) == 0)
        {
            if (++polls == PollLimit)
                return DriverStatus.Timeout;
        }
        Cpu.OutByte((ushort)(_base + Thr), value);
        return DriverStatus.Ok;
    }

    /// <summary>
    /// Writes <paramref name="length"/> bytes: waits for THRE (the transmit FIFO is empty), then
    /// fills the FIFO with up to <see cref="FifoSize"/> bytes, and again. Returns 0 or
    /// <see cref="DriverStatus.Timeout"/>.
    /// </summary>
    public unsafe int Write(byte* bytes, int length)
    {
        ushort lsr = (ushort)(_base + Lsr), thr = (ushort)(_base + Thr);
        int sent = 0;
        while (sent < length)
        {
            int polls = 0;
            while ((Cpu.InByte(lsr) & LsrThre) == 0)
            {
                if (++polls == PollLimit)
                    return DriverStatus.Timeout;
            }
            int burst = length - sent < FifoSize ? length - sent : FifoSize;
            for (int i = 0; i < burst; i++)
                Cpu.OutByte(thr, bytes[sent + i]);
            sent += burst;
        }
        return DriverStatus.Ok;
    }
}
