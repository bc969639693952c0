using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Virtio;
using ParaVirt.Image;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>
/// The asynchronous virtio transport on KVM: the workloads guest opens virtio-blk with
/// <c>disk=virtio-blk-async</c>, rings an ioeventfd doorbell (no exit) served by a device thread,
/// and waits by polling the used ring or in <c>SchedOp(block)</c>.
/// </summary>
public sealed class AsyncVirtioTests : KvmWorkloadFixture
{
    private const int Batch = 32; // the guest driver's queue depth

    private static PvImage? s_image;

    private static PvImage Image => s_image ??= PvImageReader.ReadFile(WorkloadImages.Find(VirtualizationMode.Para));

    /// <summary>A para machine over <paramref name="disk"/> as virtio-blk-async: its request queue has a doorbell and a device thread.</summary>
    private static Machine Build(DiskImage disk, string commandLine)
    {
        Machine machine = MachineBuilder.Create(Engines.Default)
            .WithMemory(32UL << 20)
            .WithMode(VirtualizationMode.Para)
            .WithDisk(disk, DiskInterface.VirtioBlkAsync)
            .WithCommandLine(Encoding.ASCII.GetBytes(commandLine))
            .WithImage(Image)
            .Build();
        Assert.That(machine.Virtio!.AsyncQueues, Has.Count.EqualTo(1));
        Assert.That(machine.Vm.Features & HypercallFeatures.VirtioAsync, Is.EqualTo(HypercallFeatures.VirtioAsync));
        return machine;
    }

    private sealed record Outcome(VmStopReason Stop, MeasurementWindow Window, VirtioAsyncQueue Queue, long TotalExits);

    private static Outcome RunOn(DiskImage disk, string commandLine)
    {
        using Machine machine = Build(disk, commandLine);
        var window = new MeasurementWindow();
        window.Register(machine.Vm);
        VmStopReason stop = machine.Run(TimeSpan.FromMinutes(2));
        VirtioAsyncQueue queue = machine.Virtio!.AsyncQueues[0];
        var outcome = new Outcome(stop, window, queue, machine.Vm.Exits.Total);
        TestContext.Out.WriteLine($"{commandLine}: {stop}; window {window.Exits} exits ({string.Join(", ", window.ExitsByReason())}), {window.Elapsed.TotalMilliseconds:F1} ms; device thread {queue.Wakeups} wake-ups, {queue.Turns} turns, {queue.EventsRaised} events, {queue.AllocatedBytes} B allocated");
        return outcome;
    }

    private static string TempDisk() => Path.Combine(Path.GetTempPath(), $"paravirt-async-{Guid.NewGuid():N}.img");

    private static void AssertClean(Outcome o)
    {
        Assert.That(o.Stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), o.Stop.ToString);
        Assert.That(o.Stop.ExitCode, Is.Zero, o.Stop.ToString);
        Assert.That(o.Window.IsComplete, Is.True);
        Assert.That(o.Queue.Faults, Is.Zero);
        Assert.That(o.Queue.IsRunning, Is.False, "disposing the machine ended the device thread");
    }

    [TestCase("blk-write")]
    [TestCase("blk-read")]
    public void Polling_the_used_ring_makes_no_exit_at_all(string workload)
    {
        const long operations = 512;
        string path = TempDisk();
        try
        {
            using (DiskImage disk = DiskImage.Create(path, operations * 8))
            {
                if (workload == "blk-read")
                    DiskPattern.Fill(disk, operations * 8);
                Outcome o = RunOn(disk, $"{workload} {operations} disk=virtio-blk-async");
                AssertClean(o);
                // Exact: the doorbell is completed in the kernel, completion events are suppressed,
                // the driver polls: nothing between the markers leaves the guest.
                Assert.That(o.Window.Exits, Is.Zero);
                Assert.That(o.Queue.Wakeups, Is.GreaterThan(0).And.LessThanOrEqualTo(operations / Batch + 2));
                Assert.That(o.Queue.EventsRaised, Is.Zero);
                Assert.That(DiskPattern.CountMismatchedSectors(disk, operations * 8), Is.Zero);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("blk-randread")]
    [TestCase("blk-randread-qd32")]
    [TestCase("blk-write")]
    public void Through_the_runner_virtio_blk_async_verifies_with_no_exit(string name)
    {
        WorkloadResult r = Runner.Run(WorkloadCatalog.Find(name)!, VirtualizationMode.Para, new WorkloadRunOptions
        {
            Quick = true,
            DiskInterface = DiskInterface.VirtioBlkAsync,
            Timeout = TimeSpan.FromMinutes(2),
        });
        TestContext.Out.WriteLine($"{r.Workload} {r.Device}: {r.Operations} ops, {r.Exits} exits, {r.NsPerOp:F0} ns/op, verified {r.Verified} {r.Failure}");
        AssertVerified(r);
        Assert.That(r.Device, Is.EqualTo("virtio-blk-async"));
        // Queue depth 1 too: one doorbell per request, completed in the kernel, and a polled used ring.
        Assert.That(r.Exits, Is.Zero);
    }

    [TestCase("blk-write")]
    [TestCase("blk-read")]
    public void Blocking_for_the_event_makes_at_most_a_few_exits_per_batch_and_none_for_the_doorbell(string workload)
    {
        const long operations = 512;
        string path = TempDisk();
        try
        {
            using DiskImage disk = DiskImage.Create(path, operations * 8);
            if (workload == "blk-read")
                DiskPattern.Fill(disk, operations * 8);
            Outcome o = RunOn(disk, $"{workload} {operations} disk=virtio-blk-async wait=block");
            AssertClean(o);
            IReadOnlyDictionary<string, long> byReason = o.Window.ExitsByReason();
            // Exact: the doorbell never exits to userspace (a port-I/O exit would be one per batch).
            Assert.That(byReason.GetValueOrDefault("PortIo"), Is.Zero);
            // Bounded, because it depends on who wins a race: per batch one SchedOp(block) if the
            // device thread has not finished when the driver looks, plus at most one kick (an
            // Interrupted exit) when the event is raised while the vCPU is still running, plus one
            // status read when a stale event woke a block early. A doorbell that exited would add
            // PortIo exits, caught above; the bound catches a driver that blocks per request.
            long batches = operations / Batch;
            Assert.That(o.Window.Exits, Is.LessThanOrEqualTo(3 * batches));
            Assert.That(byReason.GetValueOrDefault("Hypercall"), Is.LessThanOrEqualTo(2 * batches));
            // blk-write ends with a flush request after its last batch: one more kick, and one more
            // event when the driver waits for the flush (seen in CI: 17 events for 16 batches).
            long requestsBatches = batches + (workload == "blk-write" ? 1 : 0);
            Assert.That(o.Queue.EventsRaised, Is.LessThanOrEqualTo(requestsBatches), "one event per batch at most (used_event)");
            Assert.That(DiskPattern.CountMismatchedSectors(disk, operations * 8), Is.Zero);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Both_transports_leave_identical_disk_contents()
    {
        const long operations = 256;
        string syncPath = TempDisk(), asyncPath = TempDisk();
        try
        {
            WorkloadResult sync = Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Para, operations, syncPath);
            AssertVerified(sync);
            using (DiskImage disk = DiskImage.Create(asyncPath, operations * 8))
                AssertClean(RunOn(disk, $"blk-write {operations} disk=virtio-blk-async wait=block"));
            Assert.That(File.ReadAllBytes(asyncPath), Is.EqualTo(File.ReadAllBytes(syncPath)));

            // And each reads the other's disk back.
            AssertVerified(Run(WorkloadCatalog.BlockRead, VirtualizationMode.Para, operations, asyncPath));
            using (DiskImage disk = DiskImage.Open(syncPath))
                AssertClean(RunOn(disk, $"blk-read {operations} disk=virtio-blk-async"));
        }
        finally
        {
            File.Delete(syncPath);
            File.Delete(asyncPath);
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Stopping_or_disposing_the_vm_while_the_device_thread_floods_ends_cleanly(bool disposeWithoutStop)
    {
        // A guest writing as fast as it can; the host stops or disposes it from another thread in
        // the middle, while the device thread is working. Repeated: each round may interleave
        // differently. A thread touching unmapped guest memory would kill the test host.
        const long operations = 16384; // 64 MiB of 4 KiB writes: far longer than the moment of the stop
        string path = TempDisk();
        try
        {
            using DiskImage disk = DiskImage.Create(path, operations * 8);
            for (int round = 0; round < 24; round++)
            {
                Machine machine = Build(disk, $"blk-write {operations} disk=virtio-blk-async{(round % 2 == 0 ? "" : " wait=block")}");
                VirtioAsyncQueue queue = machine.Virtio!.AsyncQueues[0];
                Task<VmStopReason> run = machine.Vm.RunAsync(TimeSpan.FromMinutes(1));
                Assert.That(SpinWait.SpinUntil(() => queue.Turns > 2 || run.IsCompleted, TimeSpan.FromSeconds(60)), Is.True);
                if (disposeWithoutStop)
                    machine.Dispose();
                else
                    machine.Vm.RequestStop("test: stop under load");
                VmStopReason stop = run.GetAwaiter().GetResult();
                machine.Dispose();
                Assert.That(stop.Kind, Is.AnyOf(VmStopKind.StopRequested, VmStopKind.GuestShutdown), stop.ToString);
                Assert.That(queue.IsRunning, Is.False, "the device thread ended");
                Assert.That(queue.Faults, Is.Zero);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_hostile_ring_found_on_the_device_thread_reaches_the_guest_as_needs_reset()
    {
        string path = TempDisk();
        try
        {
            using DiskImage disk = DiskImage.Create(path, 64);
            using Machine machine = Build(disk, "hostile-async-desc-loop 1");
            VmStopReason stop = machine.Run(TimeSpan.FromMinutes(1));
            VirtioAsyncQueue queue = machine.Virtio!.AsyncQueues[0];
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.ToString);
            Assert.That(stop.ExitCode, Is.Zero, "the guest saw NEEDS_RESET through the event, and recovered");
            Assert.That(queue.EventsRaised, Is.GreaterThanOrEqualTo(1));
            Assert.That(queue.Faults, Is.Zero);
            Assert.That(machine.Virtio.Devices[1].NeedsReset, Is.False, "the guest reset the device");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Numbers for docs (run by hand: <c>--filter Name~Measure</c>); asserts only that each run verified.</summary>
    [Test]
    [Explicit("a measurement, not a check")]
    public void Measure_the_three_transports()
    {
        const long operations = 8192;
        string path = TempDisk();
        try
        {
            using DiskImage disk = DiskImage.Create(path, operations * 8);
            DiskPattern.Fill(disk, operations * 8);
            foreach (string workload in new[] { "blk-write", "blk-read", "blk-randread", "blk-randread-qd32" })
            {
                for (int round = 0; round < 3; round++)
                {
                    foreach (string transport in new[] { "disk=virtio-blk", "disk=virtio-blk-async", "disk=virtio-blk-async wait=block" })
                    {
                        Outcome o;
                        if (transport == "disk=virtio-blk")
                        {
                            using Machine machine = MachineBuilder.Create(Engines.Default).WithMemory(32UL << 20).WithMode(VirtualizationMode.Para)
                                .WithDisk(disk, DiskInterface.VirtioBlk).WithCommandLine($"{workload} {operations} {transport}").WithImage(Image).Build();
                            var window = new MeasurementWindow();
                            window.Register(machine.Vm);
                            VmStopReason stop = machine.Run(TimeSpan.FromMinutes(2));
                            Assert.That(stop.ExitCode, Is.Zero, stop.ToString);
                            TestContext.Out.WriteLine($"MEASURE {workload} {transport}: {window.Exits} exits ({string.Join(", ", window.ExitsByReason())}), {window.Elapsed.TotalMilliseconds * 1e6 / operations:F0} ns/request");
                            continue;
                        }
                        o = RunOn(disk, $"{workload} {operations} {transport}");
                        AssertClean(o);
                        TestContext.Out.WriteLine($"MEASURE {workload} {transport}: {o.Window.Exits} exits ({string.Join(", ", o.Window.ExitsByReason())}), {o.Window.Elapsed.TotalMilliseconds * 1e6 / operations:F0} ns/request, {o.Queue.Wakeups} wake-ups, {o.Queue.EventsRaised} events");
                    }
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void The_device_thread_allocates_nothing_per_request()
    {
        string path = TempDisk();
        try
        {
            using DiskImage disk = DiskImage.Create(path, 2048 * 8);
            Outcome small = RunOn(disk, "blk-write 64 disk=virtio-blk-async");
            Outcome large = RunOn(disk, "blk-write 2048 disk=virtio-blk-async");
            AssertClean(small);
            AssertClean(large);
            // GC.GetAllocatedBytesForCurrentThread on the device thread around each turn: a run 32
            // times longer allocates no more (first-use allocations only, if any).
            Assert.That(large.Queue.AllocatedBytes, Is.LessThanOrEqualTo(small.Queue.AllocatedBytes));
            Assert.That(large.Queue.Turns, Is.GreaterThan(small.Queue.Turns));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
