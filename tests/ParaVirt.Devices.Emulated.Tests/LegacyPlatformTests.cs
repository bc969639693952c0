using System.Collections.Generic;
using System.IO;
using System.IO.Pipelines;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Console;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Devices.Emulated.Tests;

public sealed class LegacyPlatformTests
{
    private string _path = null!;
    private DiskImage _image = null!;

    [SetUp]
    public void SetUp()
    {
        _path = Path.Combine(Path.GetTempPath(), $"paravirt-legacy-{Guid.NewGuid():N}.img");
        _image = DiskImage.Create(_path, 128);
    }

    [TearDown]
    public void TearDown()
    {
        _image.Dispose();
        File.Delete(_path);
    }

    [Test]
    public void AttachRegistersEveryDeviceAndListsItsPorts()
    {
        var bus = new IoBus("pio");
        LegacyDevices devices = LegacyPlatform.Attach(bus, new GuestConsole(null), _image, new ManualClock(), new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.That(devices.Disk, Is.Not.Null);
        var expected = new List<ushort>();
        for (int p = 0x40; p <= 0x43; p++) expected.Add((ushort)p);
        expected.Add(0x70);
        expected.Add(0x71);
        for (int p = 0x1F0; p <= 0x1F7; p++) expected.Add((ushort)p);
        expected.Add(0x3F6);
        for (int p = 0x3F8; p <= 0x3FF; p++) expected.Add((ushort)p);
        Assert.That(devices.Ports, Is.EqualTo(expected));
        foreach (ushort port in devices.Ports)
            Assert.That(bus.Resolve(port, 1, out _), Is.Not.Null, $"port {port:x} claimed");
        Assert.That(bus.Resolve(0x3F7, 1, out _), Is.Null, "3F7h is the floppy's, not claimed");
        Assert.That(LegacyPlatform.PortsFor(withDisk: false), Has.No.Member((ushort)0x1F0));
        Assert.That(bus.Resolve(0x1F7, 1, out _), Is.SameAs(devices.Disk));
        Assert.That(bus.Resolve(0x3F6, 1, out _), Is.SameAs(devices.Disk!.ControlBlock));
    }

    [Test]
    public void RandomAccessSequencesNeverThrowAndLeaveDevicesUsable()
    {
        var output = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var input = new Pipe();
        var clock = new ManualClock();
        var bus = new IoBus("pio");
        LegacyDevices devices = LegacyPlatform.Attach(bus, new GuestConsole(output.Writer, input.Reader), _image, clock, DateTime.UnixEpoch);
        var io = new PortIo(bus);
        var random = new Random(12345);
        Span<byte> buffer = stackalloc byte[4];
        int[] sizes = [1, 2, 4];
        for (int i = 0; i < 200_000; i++)
        {
            ushort port = devices.Ports[random.Next(devices.Ports.Count)];
            int size = sizes[random.Next(3)];
            Span<byte> data = buffer[..size];
            if (random.Next(2) == 0)
            {
                random.NextBytes(data);
                bus.Write(port, data);
            }
            else
                bus.Read(port, data);
            if (i % 97 == 0)
                clock.Advance(random.Next(1_000_000));
            if (i % 1013 == 0)
                input.Writer.WriteAsync(new byte[] { (byte)i }).AsTask().GetAwaiter().GetResult();
            _ = devices.Pit.TakeIrq0Edges();
            _ = devices.Pit.TryGetNextDeadline(out _);
            _ = devices.Uart.IrqAsserted;
            _ = devices.Rtc.InterruptPending;
        }

        // The ATA disk recovers with SRST and answers IDENTIFY.
        io.Out8(0x3F6, 0x04);
        io.Out8(0x3F6, 0x00);
        Assert.That(io.In8(0x1F7), Is.EqualTo(0x50));
        io.Out8(0x1F6, 0xE0);
        io.Out8(0x1F7, 0xEC);
        Assert.That(io.In8(0x1F7), Is.EqualTo(0x58));
        Assert.That(io.In16(0x1F0), Is.EqualTo(0x0040));

        // The PIT reprograms to an exact count.
        io.Out8(0x43, 0x34);
        io.Out8(0x40, 0x10);
        io.Out8(0x40, 0x00);
        io.Out8(0x43, 0x00);
        Assert.That(io.In8(0x40) | io.In8(0x40) << 8, Is.EqualTo(0x10));
    }

    [Test]
    public void RegisterAccessesDoNotAllocate()
    {
        var clock = new ManualClock();
        var bus = new IoBus("pio");
        LegacyDevices devices = LegacyPlatform.Attach(bus, new GuestConsole(null), _image, clock, DateTime.UnixEpoch);
        var io = new PortIo(bus);
        void Workload()
        {
            io.Out8(0x3FB, 0x03);
            io.Out8(0x3F8, (byte)'x');
            io.In8(0x3FD);
            io.In8(0x3FA);
            io.Out8(0x43, 0x34);
            io.Out8(0x40, 0x9C);
            io.Out8(0x40, 0x2E);
            clock.Advance(12345);
            io.Out8(0x43, 0xC2);
            io.In8(0x40);
            io.In8(0x40);
            io.In8(0x40);
            devices.Pit.TakeIrq0Edges();
            devices.Pit.TryGetNextDeadline(out _);
            io.Out8(0x70, 0x00);
            io.In8(0x71);
            io.Out8(0x70, 0x0C);
            io.In8(0x71);
            io.Out8(0x1F6, 0xE0);
            io.Out8(0x1F7, 0xEC);
            for (int w = 0; w < 256; w++)
                io.In16(0x1F0);
            io.In8(0x1F7);
            io.Out8(0x1F2, 1);
            io.Out8(0x1F3, 3);
            io.Out8(0x1F7, 0x30); // WRITE SECTORS
            for (int w = 0; w < 256; w++)
                io.Out16(0x1F0, (ushort)w);
            io.Out8(0x1F7, 0x20); // READ SECTORS
            for (int w = 0; w < 256; w++)
                io.In16(0x1F0);
            io.In8(0x1F7);
        }
        Workload();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            Workload();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
