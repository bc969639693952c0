using System.Collections.Generic;
using System.IO;
using System.IO.Pipelines;
using System.Text;
using System.Threading.Tasks;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Devices.Emulated.Nvme;
using ParaVirt.Image;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads.Tests;

/// <summary>
/// A real guest drives the NVMe controller as a hostile driver would (<c>hostile-nvme</c>): PRPs
/// outside guest memory, a reused command ID, a CQ head past the entries posted (phase confusion),
/// SQ tail and CQ head doorbells past the queue size, a doorbell of a queue that does not exist.
/// Each gets the outcome docs/emulated-devices.md defines, the guest recovers by a controller reset
/// and reads the disk correctly, the host process is untouched, and another VM on NVMe at the same
/// time completes verified.
/// </summary>
public sealed class HostileNvmeTests : KvmWorkloadFixture
{
    private static PvImage? s_image;

    private static PvImage Image => s_image ??= PvImageReader.ReadFile(WorkloadImages.Find(VirtualizationMode.Full));

    private sealed record Outcome(VmStopReason Stop, string Console, IReadOnlyDictionary<string, long> Exits, NvmeFatalError Fatal, long Stray, long Commands);

    /// <summary>Runs <c>hostile-nvme</c> on a pattern-filled disk through the builder, so that the controller can be inspected after the run; the whole console is kept.</summary>
    private static Outcome RunHostile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"paravirt-hostile-nvme-{Guid.NewGuid():N}.img");
        try
        {
            using DiskImage disk = DiskImage.Create(path, 512);
            DiskPattern.Fill(disk, 512);
            var pipe = new Pipe(new PipeOptions(useSynchronizationContext: false));
            var text = new StringBuilder();
            Task drain = Task.Run(async () =>
            {
                while (true)
                {
                    ReadResult read = await pipe.Reader.ReadAsync();
                    foreach (ReadOnlyMemory<byte> segment in read.Buffer)
                        text.Append(Encoding.ASCII.GetString(segment.Span));
                    pipe.Reader.AdvanceTo(read.Buffer.End);
                    if (read.IsCompleted)
                        break;
                }
            });
            Outcome outcome;
            try
            {
                using Machine machine = MachineBuilder.Create(Engines.Default)
                    .WithMemory(32UL << 20)
                    .WithMode(VirtualizationMode.Full)
                    .WithConsole(pipe.Writer)
                    .WithDisk(disk, DiskInterface.Nvme)
                    .WithCommandLine("hostile-nvme 1 disk=nvme")
                    .WithImage(Image)
                    .Build();
                VmStopReason stop = machine.Run(TimeSpan.FromMinutes(2));
                NvmeController nvme = machine.Nvme!;
                outcome = new Outcome(stop, "", machine.Vm.Exits.ByReason(), nvme.FatalError, nvme.StrayAccesses, nvme.Commands);
            }
            finally
            {
                pipe.Writer.Complete();
                drain.GetAwaiter().GetResult();
            }
            outcome = outcome with { Console = text.ToString() };
            TestContext.Out.WriteLine($"{outcome.Stop}; exits {string.Join(", ", outcome.Exits)}; controller: fatal {outcome.Fatal}, {outcome.Commands} commands, {outcome.Stray} stray accesses\n{outcome.Console}");
            return outcome;
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Every_hostile_access_gets_its_defined_outcome_and_a_reset_recovers_the_controller()
    {
        Outcome o = RunHostile();

        Assert.That(o.Stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), o.Stop.ToString);
        Assert.That(o.Stop.ExitCode, Is.Zero, o.Console);
        Assert.Multiple(() =>
        {
            // Error statuses in the completion (Data Transfer Error 0x4004, DNR set); the controller stays ready.
            Assert.That(o.Console, Does.Contain("PRP1 outside RAM: status 0x4004, controller ready (as defined)"));
            Assert.That(o.Console, Does.Contain("PRP list outside RAM: status 0x4004, controller ready (as defined)"));
            Assert.That(o.Console, Does.Contain("PRP list entry outside RAM: status 0x4004, controller ready (as defined)"));
            // Command ID Conflict (0x4003) for the second command with the same ID; free again after the acknowledgement.
            Assert.That(o.Console, Does.Contain("command ID reused in one batch: statuses 0x0, 0x4003; reused after the acknowledgement: 0x0 (as defined)"));
            // CSTS.CFS (RDY | CFS = 0x3), nothing runs until CC.EN = 0 clears it, then the controller works.
            Assert.That(o.Console, Does.Contain("CQ head past the entries posted (phase confusion): csts 0x3, then nothing runs, after reset 0x0, works again (as defined)"));
            Assert.That(o.Console, Does.Contain("SQ tail at the queue size: csts 0x3, after reset 0x0, works again (as defined)"));
            Assert.That(o.Console, Does.Contain("SQ tail far past the queue size: csts 0x3, after reset 0x0, works again (as defined)"));
            Assert.That(o.Console, Does.Contain("CQ head at the queue size: csts 0x3, after reset 0x0, works again (as defined)"));
            Assert.That(o.Console, Does.Contain("doorbell of queue 3, never created: csts 0x3, after reset 0x0, works again (as defined)"));
            Assert.That(o.Console, Does.Contain("every hostile access got its defined outcome; the disk works after them"));
            Assert.That(o.Console, Does.Not.Contain("NOT as defined"));
        });
        // The host's view: the guest's last reset left the controller without a fatal status, and
        // every register access decoded (the hostile values were valid accesses with bad values).
        Assert.That(o.Fatal, Is.EqualTo(NvmeFatalError.None));
        Assert.That(o.Stray, Is.Zero);
    }

    [Test]
    public void The_hostile_run_repeats_exactly()
    {
        Outcome first = RunHostile();
        Outcome second = RunHostile();

        Assert.That(first.Stop.ExitCode, Is.Zero, first.Console);
        Assert.That(second.Stop.ExitCode, Is.Zero, second.Console);
        // Synchronous emulation on the vCPU thread: the same accesses, exits and commands every time.
        Assert.That(second.Exits, Is.EquivalentTo(first.Exits));
        Assert.That(second.Commands, Is.EqualTo(first.Commands));
        Assert.That(first.Exits.GetValueOrDefault("Mmio"), Is.GreaterThan(0));
    }

    [Test]
    public void A_hostile_nvme_guest_beside_a_healthy_one_leaves_the_healthy_one_untouched()
    {
        Task<WorkloadResult> healthy = Task.Run(() => Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Full, 256, disk: DiskInterface.Nvme));
        Task<WorkloadResult> attacker = Task.Run(() => Run(WorkloadCatalog.HostileNvme, VirtualizationMode.Full, disk: DiskInterface.Nvme));
        Task.WaitAll(healthy, attacker);

        WorkloadResult bad = attacker.Result;
        Assert.That(bad.Stop?.Kind, Is.EqualTo(VmStopKind.GuestShutdown));
        Assert.That(bad.ExitCode, Is.Zero, () => bad.ConsoleTail);
        Assert.That(bad.ConsoleTail, Does.Contain("the disk works after them"));
        WorkloadResult good = healthy.Result;
        AssertVerified(good);
        Assert.That(good.Exits, Is.EqualTo(2 * 256 / 32), "one tail and one head doorbell per batch of 32, as without a neighbour");

        // And the host runs NVMe normally afterwards.
        AssertVerified(Run(WorkloadCatalog.BlockRead, VirtualizationMode.Full, 64, disk: DiskInterface.Nvme));
    }

    [Test]
    public void The_hostile_nvme_workload_refuses_para_mode()
    {
        WorkloadResult r = Run(WorkloadCatalog.HostileNvme, VirtualizationMode.Para);
        Assert.That(r.ExitCode, Is.EqualTo(WorkloadProtocol.ExitNotInThisMode));
    }
}
