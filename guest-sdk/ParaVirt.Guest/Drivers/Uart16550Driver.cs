namespace ParaVirt.Guest.Drivers;

/// <summary>
/// A polled 16550 UART driver, programmed register by register through the <see cref="Cpu"/> seam
/// (in full mode every access is an <c>in</c>/<c>out</c> that exits to the host's emulated UART).
/// <see cref="Initialize"/> runs the usual PC sequence: interrupts off, 115200 baud through the
/// divisor latch, 8N1, FIFOs on and cleared, then a loopback self test (send 0xAE, expect it back),
/// then normal operation with DTR, RTS, OUT1, OUT2. <see cref="WriteByte"/> polls LSR.THRE before
/// every byte, as a real driver must: exactly two port accesses (two exits) per byte while the
/// transmitter is ready.
/// </summary>
/// <example><code>
/// var uart = new Uart16550Driver(0x3F8);
/// if (uart.Initialize() &lt; 0) return 1;
/// uart.WriteByte((byte)'A');   // in LSR, out THR
/// </code></example>
public sealed class Uart16550Driver
{
    private const int Rbr = 0, Thr = 0, Dll = 0, Ier = 1, Dlm = 1, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5;
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

    /// <summary>Programs the UART and runs the loopback self test. Returns 0, <see cref="DriverStatus.Faulty"/> or <see cref="DriverStatus.NoDevice"/>.</summary>
    public int Initialize()
    {
        Cpu.OutByte((ushort)(_base + Ier), 0x00);              // no interrupts: we poll
        Cpu.OutByte((ushort)(_base + Lcr), LcrDlab);           // divisor latch
        Cpu.OutByte((ushort)(_base + Dll), 0x01);              // 115200 baud
        Cpu.OutByte((ushort)(_base + Dlm), 0x00);
        Cpu.OutByte((ushort)(_base + Lcr), Lcr8N1);            // 8 data bits, no parity, 1 stop bit
        Cpu.OutByte((ushort)(_base + Fcr), FcrEnableClear14);  // FIFOs on, cleared, trigger 14
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
}
