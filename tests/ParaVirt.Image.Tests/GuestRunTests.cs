using System.IO.Pipelines;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Image.Tests;

/// <summary>Real C# guest kernels, built by `dotnet build`, run on KVM.</summary>
public class GuestRunTests : KvmTestBase
{
    [Test]
    public void HelloPrintsItsChecksumAndExitsWithZero()
    {
        var console = new Pipe();
        using Machine machine = MachineBuilder.Create(Engines.Default).WithConsole(console.Writer).WithImage(Guests.HelloImage).Build();
        VirtualMachine vm = machine.Vm;

        VmStopReason stop = vm.Run(TimeSpan.FromSeconds(10));
        string text = ReadAll(console);
        TestContext.Out.WriteLine(text);
        TestContext.Out.WriteLine($"{stop}; {vm.Exits.Total} exits");

        Assert.That(text, Does.StartWith("Hello from a C# guest kernel\nutf-8 literals work too\n"));
        Assert.That(text, Does.Contain($"crc32 = 0x{Guests.HelloChecksum:x8} (ok)"));
        Assert.That(text, Does.Contain("abi 0x2, heap 0x"));
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.Zero);
    }

    [Test]
    public void GuestThatExhaustsTheHeapStopsWithAReason()
    {
        var console = new Pipe();
        using Machine machine = MachineBuilder.Create(Engines.Default).WithMemory(8UL << 20).WithConsole(console.Writer).WithImage(Guests.OutOfMemoryImage).Build();
        VirtualMachine vm = machine.Vm;

        VmStopReason stop = vm.Run(TimeSpan.FromSeconds(10));
        string text = ReadAll(console);

        Assert.That(text, Does.Contain("allocating until it runs out"));
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(134));
        Assert.That(stop.Message, Is.EqualTo("guest fail-fast: out of heap memory (the bump allocator never frees)"));
    }
}
