using System.IO;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

public class LifecycleTests : KvmFixture
{
    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static string[] Mappings() => File.ReadAllLines("/proc/self/maps");

    private static int KvmMappings() => Mappings().Count(line => line.Contains("kvm", StringComparison.Ordinal));

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
        int fds = OpenDescriptors();
        int maps = Mappings().Length;
        Assert.That(KvmMappings(), Is.Zero, "no kvm_run page is mapped between VMs");

        for (int i = 0; i < 1000; i++)
        {
            using var vm = CreateVm(a => { a.mov(eax, 5); a.ret(); });
            if (i == 0)
                Assert.That(KvmMappings(), Is.EqualTo(1), "a live VM maps its kvm_run page (so the check below can see a leak)");
            VmStopReason stop = RunToStop(vm);
            if (stop.ExitCode != 5)
                Assert.Fail($"VM {i} stopped with {stop}");
        }

        Assert.That(OpenDescriptors(), Is.EqualTo(fds), "file descriptors");
        Assert.That(KvmMappings(), Is.Zero, "kvm_run mappings");
        // Each VM maps its RAM and its kvm_run page: a leak would add at least 1,000 mappings. The
        // runtime itself may add a few (GC regions, JIT), so allow a small constant.
        int after = Mappings().Length;
        Assert.That(after - maps, Is.LessThan(50), $"memory mappings {maps} -> {after}");
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
        Assert.That(() => new VirtualMachine(new KvmHypervisor(), new VmOptions { MemorySize = 1UL << 20 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("multiple of 2 MiB"));
        Assert.That(() => new VirtualMachine(new KvmHypervisor(), new VmOptions { MemorySize = 2UL << 30 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void AVmCanBeRunAgainAfterPreparingANewEntry()
    {
        using var vm = CreateVm(a => { a.lea(eax, __dword_ptr[rdi + 1]); a.ret(); });
        VmStopReason first = RunToStop(vm);
        vm.PrepareEntry(CodeAddress);
        VmStopReason second = RunToStop(vm);
        Assert.That(second.ExitCode, Is.EqualTo(first.ExitCode));
        Assert.That(first.ExitCode, Is.EqualTo((int)vm.Layout.StartInfoPage + 1), "RDI holds the start-info page");
    }
}
