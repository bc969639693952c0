using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Console;
using ParaVirt.Devices.Emulated.Uart;

namespace ParaVirt.Devices.Emulated.Tests;

public sealed class Uart16550Tests
{
    private const ushort Com1 = 0x3F8;
    private const ushort Thr = Com1, Ier = Com1 + 1, Iir = Com1 + 2, Fcr = Com1 + 2, Lcr = Com1 + 3, Mcr = Com1 + 4, Lsr = Com1 + 5, Msr = Com1 + 6, Scr = Com1 + 7;

    private Pipe _output = null!, _input = null!;
    private Uart16550 _uart = null!;
    private PortIo _io = null!;

    [SetUp]
    public void SetUp()
    {
        _output = new Pipe();
        _input = new Pipe();
        _uart = new Uart16550(new GuestConsole(_output.Writer, _input.Reader));
        var bus = new IoBus("pio");
        bus.Register(Com1, Uart16550.PortCount, _uart);
        _io = new PortIo(bus);
    }

    /// <summary>The classic driver init: interrupts off, 115200 baud, 8N1, FIFO on and cleared, DTR/RTS/OUT2.</summary>
    private void Init()
    {
        _io.Out8(Ier, 0x00);
        _io.Out8(Lcr, 0x80);   // DLAB
        _io.Out8(Thr, 0x01);   // DLL
        _io.Out8(Ier, 0x00);   // DLM
        _io.Out8(Lcr, 0x03);   // 8N1, DLAB off
        _io.Out8(Fcr, 0xC7);   // FIFO on, clear both, trigger 14
        _io.Out8(Mcr, 0x0B);   // DTR, RTS, OUT2
    }

    private void SendInput(string text)
    {
        _input.Writer.Write(Encoding.ASCII.GetBytes(text));
        _input.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
    }

    private string DrainOutput()
    {
        _output.Writer.Complete();
        ReadResult result = _output.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        string text = Encoding.ASCII.GetString(result.Buffer);
        _output.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    [Test]
    public void InitSequenceProgramsDivisorLineControlAndFifo()
    {
        Assert.That(_io.In8(Iir), Is.EqualTo(0x01), "reset: no interrupt, FIFO off");
        Assert.That(_io.In8(Lsr), Is.EqualTo(0x60), "reset: THRE and TEMT");
        Init();
        Assert.That(_uart.Divisor, Is.EqualTo(1));
        Assert.That(_io.In8(Lcr), Is.EqualTo(0x03));
        Assert.That(_io.In8(Iir), Is.EqualTo(0xC1), "FIFO enabled bits, nothing pending");
        Assert.That(_io.In8(Mcr), Is.EqualTo(0x0B));
        _io.Out8(Lcr, 0x83);
        Assert.That(_io.In8(Thr), Is.EqualTo(0x01), "DLL through offset 0 with DLAB");
        Assert.That(_io.In8(Ier), Is.EqualTo(0x00), "DLM through offset 1 with DLAB");
        _io.Out8(Lcr, 0x03);
        _io.Out8(Scr, 0x5A);
        Assert.That(_io.In8(Scr), Is.EqualTo(0x5A));
    }

    [Test]
    public void TransmitReachesThePipe()
    {
        Init();
        foreach (char c in "Hello, UART\n")
        {
            while ((_io.In8(Lsr) & 0x20) == 0) { }
            _io.Out8(Thr, (byte)c);
        }
        Assert.That(DrainOutput(), Is.EqualTo("Hello, UART\n"));
        Assert.That(_uart.Writes, Is.EqualTo(7 + 12));
    }

    [Test]
    public void ReceiveFromThePipeWithDataReady()
    {
        Init();
        Assert.That(_io.In8(Lsr) & 0x01, Is.Zero, "no input yet");
        Assert.That(_io.In8(Thr), Is.Zero, "empty RBR reads 0");
        SendInput("ok");
        Assert.That(_io.In8(Lsr) & 0x01, Is.EqualTo(1));
        Assert.That((char)_io.In8(Thr), Is.EqualTo('o'));
        Assert.That(_io.In8(Lsr) & 0x01, Is.EqualTo(1));
        Assert.That((char)_io.In8(Thr), Is.EqualTo('k'));
        Assert.That(_io.In8(Lsr) & 0x01, Is.Zero);
    }

    [Test]
    public void ReceiveMoreThanTheFifoHoldsKeepsOrder()
    {
        Init();
        const string text = "abcdefghijklmnopqrstuvwxyz0123456789";
        SendInput(text);
        _uart.PollInput();
        Assert.That(_uart.ReceiveFifoCount, Is.EqualTo(Uart16550.FifoDepth));
        var received = new StringBuilder();
        while ((_io.In8(Lsr) & 0x01) != 0)
            received.Append((char)_io.In8(Thr));
        Assert.That(received.ToString(), Is.EqualTo(text));
    }

    [Test]
    public void FifoDisabledHoldsOneByte()
    {
        _io.Out8(Lcr, 0x03);
        SendInput("xy");
        _uart.PollInput();
        Assert.That(_uart.ReceiveFifoCount, Is.EqualTo(1));
        Assert.That((char)_io.In8(Thr), Is.EqualTo('x'));
        Assert.That((char)_io.In8(Thr), Is.EqualTo('y'));
    }

    [Test]
    public void LoopbackFeedsTheReceiverAndModemLines()
    {
        Init();
        _io.Out8(Mcr, 0x10); // loopback, all outputs off
        _io.In8(Msr);        // clear deltas from entering loopback
        _io.Out8(Thr, 0xAE);
        Assert.That(_io.In8(Lsr) & 0x01, Is.EqualTo(1));
        Assert.That(_io.In8(Thr), Is.EqualTo(0xAE));
        SendInput("z");
        Assert.That(_io.In8(Lsr) & 0x01, Is.Zero, "host input is not taken in loopback");
        _io.Out8(Mcr, 0x1F);
        Assert.That(_io.In8(Msr), Is.EqualTo(0xF0 | 0x0B), "CTS DSR RI DCD up, deltas DCTS DDSR DDCD");
        Assert.That(_io.In8(Msr), Is.EqualTo(0xF0), "deltas clear on read");
        _io.Out8(Mcr, 0x10);
        Assert.That(_io.In8(Msr), Is.EqualTo(0x0F), "all lines down, RI trailing edge");
        Assert.That(_output.Reader.TryRead(out _), Is.False, "nothing left the UART");
    }

    [Test]
    public void LoopbackOverrunSetsAndClearsOe()
    {
        _io.Out8(Mcr, 0x10);
        _io.Out8(Thr, 1);
        _io.Out8(Thr, 2); // FIFO off: one-byte holding register, second byte lost
        Assert.That(_io.In8(Lsr), Is.EqualTo(0x63));
        Assert.That(_io.In8(Lsr), Is.EqualTo(0x61), "OE clears on read");
        Assert.That(_io.In8(Thr), Is.EqualTo(1));
    }

    [Test]
    public void InterruptIdentificationAndIrqLine()
    {
        Init();
        _io.Out8(Ier, 0x02); // THRE
        Assert.That(_uart.InterruptPending, Is.True);
        Assert.That(_uart.IrqAsserted, Is.True, "OUT2 set");
        Assert.That(_io.In8(Iir), Is.EqualTo(0xC2));
        Assert.That(_io.In8(Iir), Is.EqualTo(0xC1), "reading IIR acknowledged THRE");
        _io.Out8(Thr, (byte)'a');
        Assert.That(_io.In8(Iir), Is.EqualTo(0xC2), "THR write re-arms THRE");

        _io.Out8(Ier, 0x03);
        _io.Out8(Fcr, 0x01); // trigger level 1
        SendInput("q");
        _uart.PollInput();
        Assert.That(_io.In8(Iir), Is.EqualTo(0xC4), "received data outranks THRE");
        _io.In8(Thr);
        Assert.That(_io.In8(Iir), Is.EqualTo(0xC1), "THRE was acknowledged before; data consumed");

        _io.Out8(Fcr, 0xC1); // trigger 14: a lone byte is a character timeout
        SendInput("r");
        Assert.That(_io.In8(Iir), Is.EqualTo(0xCC));
        _io.In8(Thr);

        _io.Out8(Mcr, 0x03); // OUT2 off: the PC's IRQ line is gated
        _io.Out8(Ier, 0x00);
        _io.Out8(Ier, 0x02); // enabling ETBEI with THR empty raises THRE again
        Assert.That(_uart.InterruptPending, Is.True);
        Assert.That(_uart.IrqAsserted, Is.False);
    }

    [Test]
    public void WordAccessSplitsIntoByteRegisters()
    {
        _io.Out16(Lcr, 0x0B83); // LCR=83h, MCR=0Bh in one out dx, ax
        Assert.That(_io.In8(Lcr), Is.EqualTo(0x83));
        Assert.That(_io.In8(Mcr), Is.EqualTo(0x0B));
    }
}
