using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Console;
using ParaVirt.Core.Memory;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Virtio.Tests;

/// <summary>virtio-console: transmit reaches the console's pipe, receive fills guest buffers with input.</summary>
public sealed class VirtioConsoleTests
{
    private GuestMemory _memory = null!;
    private Pipe _output = null!, _input = null!;
    private VirtioTransport _transport = null!;
    private DriverRing _rx = null!, _tx = null!;

    [SetUp]
    public void SetUp()
    {
        _memory = GuestMemory.Create(1 << 20);
        _output = new Pipe();
        _input = new Pipe();
        _transport = new VirtioTransport(_memory);
        _transport.Add(new VirtioConsole(_memory, new GuestConsole(_output.Writer, _input.Reader)));
        _rx = new DriverRing(_memory, 8, 0x1000, 0x2000, 0x3000);
        _tx = new DriverRing(_memory, 8, 0x4000, 0x5000, 0x6000);
        _transport.Negotiate(0, ulong.MaxValue);
        _transport.SetupQueue(0, VirtioConsoleConfig.ReceiveQueue, _rx);
        _transport.SetupQueue(0, VirtioConsoleConfig.TransmitQueue, _tx);
        _transport.DriverOk(0);
    }

    [TearDown]
    public void TearDown() => _memory.Dispose();

    private string ReadOutput()
    {
        Assert.That(_output.Reader.TryRead(out ReadResult result), Is.True);
        string text = Encoding.UTF8.GetString(result.Buffer.ToArray());
        _output.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    [Test]
    public void TransmitWritesEveryReadableBufferToThePipe()
    {
        _memory.TryWrite(0x10000, "hello, "u8);
        _memory.TryWrite(0x11000, "virtio\n"u8);
        _tx.SetDesc(0, 0x10000, 7, VirtqDescFlags.Next, 1);
        _tx.SetDesc(1, 0x11000, 7);
        _tx.Publish(0);
        _tx.SetDesc(2, 0x12000, 0);
        _tx.Publish(2);

        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, VirtioConsoleConfig.TransmitQueue), Is.EqualTo(2));
        Assert.That(ReadOutput(), Is.EqualTo("hello, virtio\n"));
        Assert.That(_tx.UsedIdx, Is.EqualTo(2));
        Assert.That(_tx.UsedElem(0).Len, Is.Zero);
    }

    [Test]
    public void ReceiveFillsBuffersOnlyWhenInputIsPending()
    {
        _rx.SetDesc(0, 0x20000, 4, VirtqDescFlags.Write);
        _rx.SetDesc(1, 0x21000, 64, VirtqDescFlags.Write);
        _rx.Publish(0);
        _rx.Publish(1);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, VirtioConsoleConfig.ReceiveQueue), Is.Zero, "no input: buffers stay queued");
        Assert.That(_rx.UsedIdx, Is.Zero);

        _input.Writer.Write("keyboard"u8);
        _input.Writer.FlushAsync().AsTask().Wait();
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, VirtioConsoleConfig.ReceiveQueue), Is.EqualTo(2));
        Assert.That((_rx.UsedElem(0).Id, _rx.UsedElem(0).Len), Is.EqualTo((0u, 4u)));
        Assert.That((_rx.UsedElem(1).Id, _rx.UsedElem(1).Len), Is.EqualTo((1u, 4u)));
        byte[] first = new byte[4], second = new byte[4];
        _memory.TryRead(0x20000, first);
        _memory.TryRead(0x21000, second);
        Assert.That(Encoding.ASCII.GetString(first) + Encoding.ASCII.GetString(second), Is.EqualTo("keyboard"));
    }

    [Test]
    public void ATransmitRingViolationSetsNeedsReset()
    {
        _tx.SetDesc(0, 0x10000, 8, VirtqDescFlags.Next, 0);
        _tx.Publish(0);
        Assert.That(_transport.Call(Hypercall.VirtioNotify, 0, VirtioConsoleConfig.TransmitQueue), Is.EqualTo((long)HypercallStatus.NotPermitted));
        Assert.That(_transport.Call(Hypercall.VirtioGetStatus, 0) & VirtioDeviceStatus.DeviceNeedsReset, Is.Not.Zero);
        Assert.That(_output.Reader.TryRead(out _), Is.False, "nothing of the broken chain was printed");
    }
}
