using System.IO;
using System.IO.Pipelines;
using System.Text;
using ParaVirt.Core.Machine;
using ParaVirt.HostCalls;
using ParaVirt.Vmm;

namespace ParaVirt.HostCalls.Tests;

/// <summary>The HostCallDemo guest (guest-sdk/samples/HostCallDemo), built by this project's reference, on KVM.</summary>
public class HostCallDemoTests
{
    private static string Image => Path.Combine(TestContext.CurrentContext.TestDirectory, "guests", "HostCallDemo.pvimg");

    [SetUp]
    public void RequireKvm()
    {
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    private static (VmStopReason Stop, string Console, HostCallDispatcher? Dispatcher) Run(bool attach)
    {
        var console = new Pipe();
        using Machine machine = MachineBuilder.Create(Engines.Default).WithMemory(16UL << 20).WithConsole(console.Writer).WithImage(Image).Build();
        VirtualMachine vm = machine.Vm;
        HostCallDispatcher? dispatcher = attach ? TestFunctions.Create().Attach(vm) : null;
        VmStopReason stop = vm.Run(TimeSpan.FromSeconds(10));
        console.Writer.Complete();
        ReadResult read = console.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        string text = Encoding.UTF8.GetString(read.Buffer);
        console.Reader.AdvanceTo(read.Buffer.End);
        TestContext.Out.WriteLine(text);
        TestContext.Out.WriteLine(stop);
        return (stop, text, dispatcher);
    }

    [Test]
    public void TheDemoGetsEveryAnswerItExpectsAndExitsWithZero()
    {
        (VmStopReason stop, string text, HostCallDispatcher? dispatcher) = Run(attach: true);

        Assert.That(text, Is.EqualTo(
            "HostCallDemo: typed host calls over MessagePack\n" +
            "add(2, 40) = 42 ok\n" +
            "add(-7, 3) = -4 ok\n" +
            "add(4294967296, 2147483647) = 6442450943 ok\n" +
            "greet(\"guest\") = \"hello, guest\" ok\n" +
            "fail() -> status -9 ok\n" +
            "missing() -> status -8 ok\n" +
            "add(1) -> status -33 ok\n" +
            "add(1, \"two\") -> status -34 ok\n" +
            "all host calls answered as expected\n"));
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.Zero);
        Assert.That(dispatcher!.Failures, Is.EqualTo(1), "'fail' threw once, and the VM ran on");
    }

    [Test]
    public void WithoutHostFunctionsTheDemoSaysSoAndExitsWithTwo()
    {
        (VmStopReason stop, string text, _) = Run(attach: false);
        Assert.That(text, Does.Contain("the host offers no host calls"));
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(2));
    }
}
