using System.Collections.Generic;
using System.IO;
using System.IO.Pipelines;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using ParaVirt.Abi;
using ParaVirt.Abi.Virtio;
using ParaVirt.Core.Console;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Virtio;
using ParaVirt.Image;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>
/// virtio-console on the asynchronous transport, on KVM: the machine gives the console's transmit
/// queue a doorbell and a device thread (<see cref="MachineBuilder.WithAsyncConsole"/>), the
/// workloads guest opens its console driver with <c>console=async</c>, publishes each 4 KiB buffer
/// and rings the doorbell (no exit), and the device thread prints while the guest fills the next.
/// Every byte is checked on the host against the console workload's stream.
/// </summary>
public sealed class AsyncConsoleTests : KvmWorkloadFixture
{
    private const long Bytes = 256 * 1024; // 64 buffers of 4 KiB: the 8 buffers go round 8 times

    private static PvImage? s_image;

    private static PvImage Image => s_image ??= PvImageReader.ReadFile(WorkloadImages.Find(VirtualizationMode.Para));

    private sealed record Outcome(VmStopReason Stop, MeasurementWindow Window, ConsoleSink Sink, VirtioAsyncQueue? Queue, string Console);

    /// <summary>
    /// Runs the para workloads image with <paramref name="commandLine"/>; the console is drained and
    /// checked, or, without <paramref name="output"/>, counted and dropped by the host's console.
    /// </summary>
    private static Outcome RunConsole(string commandLine, bool asyncConsole = true, bool output = true)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        var sink = new ConsoleSink();
        Task drain = Task.Run(() => sink.DrainAsync(pipe.Reader));
        var window = new MeasurementWindow();
        VmStopReason stop;
        VirtioAsyncQueue? queue;
        try
        {
            using Machine machine = MachineBuilder.Create(Engines.Default)
                .WithMemory(32UL << 20)
                .WithMode(VirtualizationMode.Para)
                .WithConsole(output ? pipe.Writer : null)
                .WithAsyncConsole(asyncConsole)
                .WithCommandLine(Encoding.ASCII.GetBytes(commandLine))
                .WithImage(Image)
                .Build();
            queue = asyncConsole ? machine.Virtio!.AsyncQueues.Single() : null;
            window.Register(machine.Vm);
            stop = machine.Run(TimeSpan.FromMinutes(2));
        }
        finally
        {
            pipe.Writer.Complete();
            drain.GetAwaiter().GetResult();
        }
        TestContext.Out.WriteLine($"{commandLine}: {stop}; window {window.Exits} exits ({string.Join(", ", window.ExitsByReason())}), {window.Elapsed.TotalMilliseconds:F1} ms; "
            + $"console {sink.Bytes} bytes, {sink.MatchingPrefix} matching; device thread {queue?.Wakeups} wake-ups, {queue?.Turns} turns, {queue?.EventsRaised} events, {queue?.AllocatedBytes} B allocated");
        return new Outcome(stop, window, sink, queue, sink.Tail);
    }

    private static void AssertClean(Outcome o, long bytes)
    {
        Assert.That(o.Stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), o.Stop.ToString);
        Assert.That(o.Stop.ExitCode, Is.Zero, () => $"{o.Stop}\n{o.Console}");
        Assert.That(o.Window.IsComplete, Is.True);
        Assert.That(o.Sink.Bytes, Is.EqualTo(bytes), "every byte arrived, none twice");
        Assert.That(o.Sink.MatchingPrefix, Is.EqualTo(bytes), "in order");
        Assert.That(o.Queue!.Faults, Is.Zero);
        Assert.That(o.Queue.IsRunning, Is.False, "disposing the machine ended the device thread");
    }

    [Test]
    public void The_machine_gives_the_console_transmit_queue_its_own_doorbell_and_event_channel()
    {
        using Machine machine = MachineBuilder.Create(Engines.Default).WithMemory(16UL << 20).WithMode(VirtualizationMode.Para).WithAsyncConsole().Build();
        VirtioAsyncQueue queue = machine.Virtio!.AsyncQueues.Single();
        Assert.Multiple(() =>
        {
            Assert.That(queue.Device, Is.SameAs(machine.Virtio.Devices[MachineBuilder.ConsoleDevice]));
            Assert.That(queue.Device, Is.InstanceOf<VirtioConsole>());
            Assert.That(queue.Queue, Is.EqualTo((int)VirtioConsoleConfig.TransmitQueue));
            Assert.That(queue.Port, Is.EqualTo(MachineBuilder.AsyncConsoleDoorbellPort));
            Assert.That(queue.Channel, Is.EqualTo(MachineBuilder.AsyncConsoleEventChannel));
            Assert.That(machine.Vm.Features & HypercallFeatures.VirtioAsync, Is.EqualTo(HypercallFeatures.VirtioAsync));
            Assert.That(machine.Virtio.Devices[0].OffersAsync((int)VirtioConsoleConfig.ReceiveQueue), Is.False, "the receive queue stays synchronous");
        });
    }

    [Test]
    public void The_async_console_and_virtio_blk_async_each_get_their_own_queue_and_user_devices_do_not_move_the_disk()
    {
        string path = Path.Combine(Path.GetTempPath(), $"paravirt-async-console-{Guid.NewGuid():N}.img");
        try
        {
            using DiskImage disk = DiskImage.Create(path, 64);
            using Machine machine = MachineBuilder.Create(Engines.Default).WithMemory(16UL << 20).WithMode(VirtualizationMode.Para)
                .WithDisk(disk, DiskInterface.VirtioBlkAsync)
                .WithAsyncConsole()
                .WithVirtioDevice(memory => new VirtioConsole(memory, new GuestConsole(null))) // a user device after the disk
                .Build();
            IReadOnlyList<VirtioAsyncQueue> queues = machine.Virtio!.AsyncQueues;
            Assert.That(queues, Has.Count.EqualTo(2));
            // The disk's request queue is on virtio-blk (device 1), not on the last device added.
            Assert.That(queues[0].Device, Is.SameAs(machine.Virtio.Devices[1]));
            Assert.That(queues[0].Device, Is.InstanceOf<VirtioBlock>());
            Assert.That(queues[0].Port, Is.EqualTo(VirtioTransport.DoorbellPortBase));
            Assert.That(queues[1].Device, Is.SameAs(machine.Virtio.Devices[0]));
            Assert.That(queues[1].Port, Is.EqualTo(MachineBuilder.AsyncConsoleDoorbellPort));
            Assert.That(queues[1].Channel, Is.Not.EqualTo(queues[0].Channel));
            Assert.That(machine.Virtio.Devices[2].OffersAsync(0), Is.False);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void An_async_console_outside_para_mode_is_refused()
    {
        Assert.That(() => MachineBuilder.Create(Engines.Default).WithMemory(16UL << 20).WithMode(VirtualizationMode.Full).WithAsyncConsole().Build(),
            Throws.InvalidOperationException.With.Message.Contains("para mode"));
    }

    [Test]
    public void Polling_the_used_ring_prints_every_byte_with_no_exit_at_all()
    {
        Outcome o = RunConsole($"console {Bytes} console=async");

        AssertClean(o, Bytes);
        // Exact: each buffer's doorbell is completed in the kernel (ioeventfd), completion events are
        // suppressed, the driver polls the used ring: nothing between the markers leaves the guest.
        // The synchronous transport makes 8 notify exits for the same output.
        Assert.That(o.Window.Exits, Is.Zero);
        Assert.That(o.Queue!.EventsRaised, Is.Zero);
        Assert.That(o.Queue.Wakeups, Is.InRange(1, Bytes / VirtioConsoleBufferSize));
    }

    [Test]
    public void Blocking_for_buffers_prints_every_byte_and_the_doorbell_never_exits()
    {
        Outcome o = RunConsole($"console {Bytes} console=async wait=block");

        AssertClean(o, Bytes);
        IReadOnlyDictionary<string, long> byReason = o.Window.ExitsByReason();
        // Exact: the doorbell never exits to userspace (a port-I/O exit would be one per buffer).
        Assert.That(byReason.GetValueOrDefault("PortIo"), Is.Zero);
        // Bounded, because it depends on who wins a race: per buffer the driver waits for, one
        // SchedOp(block) when the device thread has not printed it yet, at most one kick (an
        // Interrupted exit) when the event comes while the vCPU runs, and one status read when a
        // stale event woke a block early. Waits happen once the 8 buffers are all in flight: at most
        // once per buffer, and once for the flush.
        long buffers = Bytes / VirtioConsoleBufferSize;
        Assert.That(o.Window.Exits, Is.LessThanOrEqualTo(3 * (buffers + 1)));
        Assert.That(o.Queue!.EventsRaised, Is.LessThanOrEqualTo(buffers + 1), "one event per wait at most (used_event)");
    }

    [TestCase(1000)]           // less than one buffer: only the flush publishes
    [TestCase(8 * 4096)]       // exactly the 8 buffers: none comes back before the flush
    [TestCase(8 * 4096 + 1)]   // one byte more: the driver waits for a buffer back
    public void Output_of_any_length_arrives_whole_on_the_async_console(int bytes)
    {
        AssertClean(RunConsole($"console {bytes} console=async"), bytes);
        AssertClean(RunConsole($"console {bytes} console=async wait=block"), bytes);
    }

    [Test]
    public void Asking_for_the_async_console_on_a_machine_without_it_fails_cleanly_at_open()
    {
        Outcome o = RunConsole($"console {Bytes} console=async", asyncConsole: false);

        Assert.That(o.Stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), o.Stop.ToString);
        Assert.That(o.Stop.ExitCode, Is.EqualTo(WorkloadProtocol.ExitDeviceInitFailed), o.Console);
        Assert.That(o.Sink.MatchingPrefix, Is.Zero, "nothing of the stream was printed");
    }

    [Test]
    public void Without_console_async_the_same_machine_keeps_the_synchronous_transport()
    {
        // The device thread exists but the driver never binds the queue: the notify hypercall
        // serves it, 3 exits for 80 KiB as on a machine without the asynchronous console.
        const long bytes = 80 * 1024;
        Outcome o = RunConsole($"console {bytes}");

        AssertClean(o, bytes);
        Assert.That(o.Window.ExitsByReason(), Is.EquivalentTo(new Dictionary<string, long> { ["Hypercall"] = 3 }));
        Assert.That(o.Queue!.Wakeups, Is.Zero);
    }

    [Test]
    public void A_longer_run_allocates_no_more_on_the_device_thread()
    {
        // The device's path (doorbell, ring, console lock) on its thread: a 16 times longer run (960
        // more buffers) allocates nothing more. Without a console output, so that the pipe's memory
        // pool, which allocates when its reader lags, is not measured.
        RunConsole($"console {Bytes} console=async", output: false); // warm up: JIT
        Outcome shortRun = RunConsole($"console {Bytes} console=async", output: false);
        Outcome longRun = RunConsole($"console {16 * Bytes} console=async", output: false);
        Assert.That(shortRun.Stop.ExitCode, Is.Zero, shortRun.Stop.ToString);
        Assert.That(longRun.Stop.ExitCode, Is.Zero, longRun.Stop.ToString);
        Assert.That(longRun.Queue!.Turns, Is.GreaterThan(shortRun.Queue!.Turns));
        Assert.That(longRun.Queue.AllocatedBytes - shortRun.Queue.AllocatedBytes, Is.LessThan(1024));
    }

    private const long VirtioConsoleBufferSize = 4096; // the guest driver's VirtioConsoleDriver.BufferSize
}
