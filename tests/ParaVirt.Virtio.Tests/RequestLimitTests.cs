using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Console;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Virtio;

namespace ParaVirt.Virtio.Tests;

/// <summary>
/// The host work one notification does is bounded whatever the guest's descriptors claim:
/// descriptors may alias the same guest memory, so a small guest can describe gigabytes.
/// </summary>
public sealed class RequestLimitTests
{
    private const ulong Header = 0x10000, Status = 0x11000, Data = 0x100000, DataSize = 0x80000; // 512 KiB

    [TestCase(2, VirtioBlkStatus.Ok)]      // 1 MiB: the largest request
    [TestCase(3, VirtioBlkStatus.IoErr)]   // 1.5 MiB, of three aliased 512 KiB buffers
    public void ABlockRequestLargerThanOneMebibyteGetsIoErr(int dataBuffers, byte expected)
    {
        using var memory = GuestMemory.Create(2 << 20);
        string path = Path.Combine(Path.GetTempPath(), $"paravirt-limit-{Guid.NewGuid():N}.img");
        try
        {
            using var disk = DiskImage.Create(path, 4096); // 2 MiB: the range check is not what fails
            var transport = new VirtioTransport(memory);
            transport.Add(new VirtioBlock(memory, disk));
            var ring = new DriverRing(memory, 16);
            transport.Negotiate(0, ulong.MaxValue);
            transport.SetupQueue(0, 0, ring);
            transport.DriverOk(0);

            memory.TryWrite(Header, new VirtioBlkReqHeader { Type = VirtioBlkRequestType.In, Sector = 0 });
            ring.SetDesc(0, Header, 16, VirtqDescFlags.Next, 1);
            for (int i = 0; i < dataBuffers; i++)
                ring.SetDesc((uint)(1 + i), Data, (uint)DataSize, VirtqDescFlags.Next | VirtqDescFlags.Write, (ushort)(2 + i));
            ring.SetDesc((uint)(1 + dataBuffers), Status, 1, VirtqDescFlags.Write);
            ring.Publish(0);
            Assert.That(transport.Call(Hypercall.VirtioNotify, 0, 0), Is.EqualTo(1));
            Assert.That(memory.TryRead(Status, out byte status), Is.True);
            Assert.That(status, Is.EqualTo(expected));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void AConsoleChainDeliversAtMostSixtyFourKibibytes()
    {
        using var memory = GuestMemory.Create(2 << 20);
        var output = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var console = new VirtioConsole(memory, new GuestConsole(output.Writer));
        var transport = new VirtioTransport(memory);
        transport.Add(console);
        var rx = new DriverRing(memory, 8, 0x1000, 0x2000, 0x3000);
        var tx = new DriverRing(memory, 8, 0x4000, 0x5000, 0x6000);
        transport.Negotiate(0, ulong.MaxValue);
        transport.SetupQueue(0, VirtioConsoleConfig.ReceiveQueue, rx);
        transport.SetupQueue(0, VirtioConsoleConfig.TransmitQueue, tx);
        transport.DriverOk(0);

        // Four descriptors aliasing the same 512 KiB: 2 MiB claimed by one chain.
        for (uint i = 0; i < 4; i++)
            tx.SetDesc(i, Data, (uint)DataSize, i < 3 ? VirtqDescFlags.Next : (ushort)0, (ushort)(i + 1));
        tx.Publish(0);
        Assert.That(transport.Call(Hypercall.VirtioNotify, 0, VirtioConsoleConfig.TransmitQueue), Is.EqualTo(1));

        Assert.That(output.Reader.TryRead(out ReadResult result), Is.True);
        Assert.That(result.Buffer.Length, Is.EqualTo(VirtioConsole.MaxTransmitPerChain));
        output.Reader.AdvanceTo(result.Buffer.End);
        Assert.That(console.TransmitDropped, Is.EqualTo(4 * (long)DataSize - VirtioConsole.MaxTransmitPerChain));
    }

    [Test]
    public void AConsoleNotificationDeliversAtMostItsBudgetAndTheNextOneContinues()
    {
        using var memory = GuestMemory.Create(2 << 20);
        var output = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var console = new VirtioConsole(memory, new GuestConsole(output.Writer));
        var transport = new VirtioTransport(memory);
        transport.Add(console);
        const uint RingSize = 256;
        var rx = new DriverRing(memory, 8, 0x1000, 0x2000, 0x3000);
        var tx = new DriverRing(memory, RingSize, 0x10000, 0x11000, 0x12000);
        transport.Negotiate(0, ulong.MaxValue);
        transport.SetupQueue(0, VirtioConsoleConfig.ReceiveQueue, rx);
        transport.SetupQueue(0, VirtioConsoleConfig.TransmitQueue, tx);
        transport.DriverOk(0);

        // A full ring of one 64 KiB chain: 16 MiB of console output claimed by one notification.
        tx.SetDesc(0, Data, (uint)VirtioConsole.MaxTransmitPerChain, 0);
        for (int i = 0; i < RingSize; i++)
            tx.Publish(0);
        const int PerNotification = VirtioConsole.NotificationByteBudget / VirtioConsole.MaxTransmitPerChain; // 64

        long total = 0;
        int notifications = 0;
        while (total < RingSize)
        {
            long done = transport.Call(Hypercall.VirtioNotify, 0, VirtioConsoleConfig.TransmitQueue);
            Assert.That(done, Is.EqualTo(PerNotification), $"notification {notifications + 1}");
            Assert.That(output.Reader.TryRead(out ReadResult result), Is.True);
            Assert.That(result.Buffer.Length, Is.EqualTo(VirtioConsole.NotificationByteBudget));
            output.Reader.AdvanceTo(result.Buffer.End);
            total += done;
            notifications++;
        }
        Assert.That(notifications, Is.EqualTo(RingSize / PerNotification));
        Assert.That(console.TransmitDropped, Is.Zero);
        Assert.That(console.NeedsReset, Is.False);
    }
}
