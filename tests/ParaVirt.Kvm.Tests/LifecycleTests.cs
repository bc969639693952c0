using System.IO;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

public class LifecycleTests : KvmFixture
{
    private static string[] OpenDescriptors() =>
        Directory.GetFiles("/proc/self/fd").Select(fd => new FileInfo(fd).LinkTarget ?? "").ToArray();

    /// <summary>Descriptors KVM hands out per VM and per vCPU (anon_inode:kvm-vm, anon_inode:kvm-vcpu:N).</summary>
    private static int KvmDescriptors() => OpenDescriptors().Count(target => target.StartsWith("anon_inode:kvm-", StringComparison.Ordinal));

    private static string[] Mappings() => File.ReadAllLines("/proc/self/maps");

    private static int KvmMappings() => Mappings().Count(line => line.Contains("kvm", StringComparison.Ordinal));

    /// <summary>
    /// Whether any mapping of the process covers host address <paramref name="address"/>. Guest RAM
    /// is found by its address, not its size: the kernel merges adjacent anonymous mappings with the
    /// same protection into one entry of /proc/self/maps, so a size can hide.
    /// </summary>
    private static bool IsMapped(nint address) => Mappings().Any(line =>
    {
        string[] range = line.Split(' ')[0].Split('-');
        return Convert.ToUInt64(range[0], 16) <= (ulong)address && (ulong)address < Convert.ToUInt64(range[1], 16);
    });

    [Test]
    public void CreatingAndDisposingAThousandVmsLeaksNothing()
    {
        // Warm up: the process-wide /dev/kvm handle, the CPUID table, the kick handler, the JIT,
        // the watchdog's timer thread.
        for (int i = 0; i < 20; i++)
        {
            using var warm = CreateVm(a => { a.mov(eax, 1); a.ret(); });
            RunToStop(warm);
        }
        int fds = OpenDescriptors().Length;
        Assert.That(KvmDescriptors(), Is.Zero, "no VM or vCPU descriptor is open between VMs");
        Assert.That(KvmMappings(), Is.Zero, "no kvm_run page is mapped between VMs");

        for (int i = 0; i < 1000; i++)
        {
            var vm = CreateVm(a => { a.mov(eax, 5); a.ret(); }, new VmOptions { MemorySize = 6UL << 20 });
            nint ram = vm.PhysicalMemory.Regions[0].HostAddress;
            if (i == 0)
            {
                Assert.That(KvmMappings(), Is.EqualTo(1), "a live VM maps its kvm_run page (so the check below can see a leak)");
                Assert.That(KvmDescriptors(), Is.EqualTo(2), "a live VM holds a VM and a vCPU descriptor");
                Assert.That(IsMapped(ram), Is.True, "a live VM maps its RAM (so the check below can see a leak)");
            }
            VmStopReason stop = RunToStop(vm);
            vm.Dispose();
            if (stop.ExitCode != 5)
                Assert.Fail($"VM {i} stopped with {stop}");
            if (IsMapped(ram))
                Assert.Fail($"VM {i}'s guest RAM is still mapped after Dispose");
        }

        Assert.That(KvmDescriptors(), Is.Zero, "VM and vCPU descriptors");
        Assert.That(OpenDescriptors().Length - fds, Is.LessThan(10), "other descriptors (the test host may open a few)");
        Assert.That(KvmMappings(), Is.Zero, "kvm_run mappings");
    }

    [Test]
    public void DisposeIsIdempotentAndRunAfterDisposeFails()
    {
        var vm = CreateVm(a => { a.ret(); });
        vm.Dispose();
        vm.Dispose();
        Assert.That(() => vm.Run(), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void MemorySizesOutsideThePlatformRangeAreRefused()
    {
        Assert.That(() => CreateBareVm(new VmOptions { MemorySize = 1UL << 20 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("multiple of 2 MiB"));
        Assert.That(() => CreateBareVm(new VmOptions { MemorySize = 2UL << 30 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void AVmCanBeRunAgainAfterPreparingANewEntry()
    {
        using var vm = CreateVm(a => { a.lea(eax, __dword_ptr[rdi + 1]); a.ret(); });
        VmStopReason first = RunToStop(vm);
        long exitsAfterFirst = vm.Exits.Total;
        vm.PrepareEntry(CodeAddress);
        VmStopReason second = RunToStop(vm);
        Assert.That(vm.Exits.Total, Is.EqualTo(2 * exitsAfterFirst), "the second run makes exactly the exits of the first: no spurious kick");
        Assert.That(vm.Exits[ParaVirt.Core.Cpu.ExitReason.Interrupted], Is.Zero);
        Assert.That(second.ExitCode, Is.EqualTo(first.ExitCode));
        Assert.That(first.ExitCode, Is.EqualTo((int)vm.Layout.StartInfoPage + 1), "RDI holds the start-info page");
    }

    [Test]
    public void TheCommandLineReachesTheGuestThroughStartInfo()
    {
        // exit code = CommandLineLength * 256 + first byte of the command line
        using var vm = CreateVm(a =>
        {
            a.mov(rsi, __qword_ptr[rdi + 64]);   // StartInfo.CommandLine
            a.mov(eax, __dword_ptr[rdi + 72]);   // StartInfo.CommandLineLength
            a.shl(eax, 8);
            a.movzx(ecx, __byte_ptr[rsi]);
            a.add(eax, ecx);
            a.ret();
        });
        vm.CommandLine = "blk-write --quick"u8.ToArray();
        vm.PrepareEntry(CodeAddress);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.ExitCode, Is.EqualTo(17 * 256 + 'b'), stop.Message);
    }

    private sealed class BlockingDevice(ManualResetEventSlim release) : ParaVirt.Core.Bus.IBusDevice
    {
        public ManualResetEventSlim Entered { get; } = new(false);
        public string Name => "blocking";
        public void Read(ulong offset, Span<byte> data) => data.Clear();
        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            Entered.Set();
            release.Wait();
        }
    }

    [Test]
    public void DisposingAVmWhoseVcpuIsStuckInADeviceNeitherCrashesNorLeaks()
    {
        using var release = new ManualResetEventSlim(false);
        var device = new BlockingDevice(release);
        var vm = CreateVm(a => { a.mov(dx, 0x80); a.@out(dx, al); a.ret(); },
            new VmOptions { MemorySize = 4UL << 20, OpenPorts = [0x80] });
        vm.PortBus.Register(0x80, 1, device);
        Task<VmStopReason> run = vm.RunAsync();
        Assert.That(device.Entered.Wait(TimeSpan.FromSeconds(10)), Is.True);

        vm.Dispose(); // gives up waiting after 5 s and leaves the release to the run
        Assert.That(KvmDescriptors(), Is.EqualTo(2), "nothing was closed under the running vCPU");
        release.Set();
        Assert.That(run.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(run.Result.Kind, Is.EqualTo(VmStopKind.StopRequested));
        Assert.That(KvmDescriptors(), Is.Zero, "the run released the VM when it ended");
    }

    /// <summary>A guest that spins without exiting until it is stopped.</summary>
    private static void Spin(Iced.Intel.Assembler a)
    {
        var loop = a.CreateLabel();
        a.Label(ref loop);
        a.jmp(loop);
    }

    [Test]
    public void ASecondRunWhileRunningFaultsItsTaskAndTheFirstRunGoesOn()
    {
        using var vm = CreateVm(Spin);
        Task<VmStopReason> first = vm.RunAsync(TimeSpan.FromSeconds(10));
        Task<VmStopReason> second = vm.RunAsync();
        Assert.That(second.IsFaulted, Is.True, "the second run fails at once, on its task");
        Assert.That(second.Exception!.InnerException, Is.TypeOf<InvalidOperationException>().With.Message.Contains("already running"));
        Assert.That(() => vm.Run(), Throws.TypeOf<InvalidOperationException>());
        Assert.That(() => vm.PrepareEntry(CodeAddress), Throws.TypeOf<InvalidOperationException>(), "no new entry under a running vCPU");
        Assert.That(first.IsCompleted, Is.False);

        vm.RequestStop("done");
        Assert.That(first.GetAwaiter().GetResult().Message, Is.EqualTo("done"));
        vm.PrepareEntry(CodeAddress);
        vm.Memory.TryWrite(CodeAddress, Assemble(a => { a.mov(eax, 5); a.ret(); }));
        Assert.That(vm.RunAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult().ExitCode, Is.EqualTo(5), "the VM runs again afterwards");
    }

    [Test]
    public void RunAsyncAfterDisposeFaultsWithObjectDisposed()
    {
        var vm = CreateVm(a => { a.ret(); });
        vm.Dispose();
        Task<VmStopReason> run = vm.RunAsync();
        Assert.That(run.IsFaulted, Is.True);
        Assert.That(run.Exception!.InnerException, Is.TypeOf<ObjectDisposedException>());
        Assert.That(() => vm.PrepareEntry(CodeAddress), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void DisposingDuringRunAsyncStopsTheRunAndReleasesEverything()
    {
        int before = KvmDescriptors();
        var vm = CreateVm(Spin);
        Task<VmStopReason> run = vm.RunAsync(TimeSpan.FromSeconds(10));
        vm.Dispose();
        Assert.That(KvmDescriptors(), Is.EqualTo(before), "released when Dispose returned");
        Assert.That(run.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(run.Result.Message, Is.EqualTo("the VM is being disposed"));
        Assert.That(vm.RunAsync().Exception!.InnerException, Is.TypeOf<ObjectDisposedException>());
    }

    /// <summary>A resume hook whose end-of-run callback throws once.</summary>
    private sealed class ThrowingRunEnd : IResumeHook
    {
        public bool Thrown { get; private set; }

        public VmStopReason? BeforeResume(VirtualMachine vm, in ParaVirt.Core.Cpu.VcpuExit exit, ref ParaVirt.Core.Cpu.Registers registers) => null;

        public void RunEnded(VirtualMachine vm)
        {
            if (Thrown)
                return;
            Thrown = true;
            throw new InvalidDataException("the hook failed");
        }
    }

    [Test]
    public void AnExceptionOnTheRunThreadFaultsTheTaskAndLeavesTheVmUsable()
    {
        using var vm = CreateVm(a => { a.mov(eax, 3); a.ret(); });
        vm.ResumeHook = new ThrowingRunEnd();
        Task<VmStopReason> run = vm.RunAsync(TimeSpan.FromSeconds(10));
        Assert.That(() => run.GetAwaiter().GetResult(), Throws.TypeOf<InvalidDataException>());
        vm.PrepareEntry(CodeAddress);
        Assert.That(vm.Run(TimeSpan.FromSeconds(10)).ExitCode, Is.EqualTo(3));
    }
}
