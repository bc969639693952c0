using System.IO.Pipelines;
using System.Text;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Image.Tests;

/// <summary>Base for tests that load images into a real VM: skipped, with the reason, where KVM is unusable.</summary>
public abstract class KvmTestBase
{
    [SetUp]
    public void RequireKvm()
    {
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    /// <summary>A bare machine (no mode: the tests load images into it themselves with <see cref="ImageLoader"/>).</summary>
    protected static VirtualMachine CreateVm(Pipe? console = null, ulong memorySize = 16UL << 20) =>
        MachineBuilder.Create(Engines.Default).WithMemory(memorySize).WithConsole(console?.Writer).Build().Vm;

    protected static string ReadAll(Pipe pipe)
    {
        pipe.Writer.Complete();
        ReadResult result = pipe.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        string text = Encoding.UTF8.GetString(result.Buffer);
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }
}
