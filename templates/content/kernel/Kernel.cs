using ParaVirt.Abi;
using ParaVirt.Guest;

namespace TemplateNamespace;

/// <summary>
/// The guest kernel. It runs deprivileged in a KVM virtual machine, without a .NET runtime: no GC,
/// no exceptions, no BCL (the ParaVirt guest SDK's README lists what works). Its value is the VM's
/// exit code.
/// </summary>
public static unsafe class Kernel
{
    /// <summary>The entry point, named by &lt;ParaVirtEntryPoint&gt; in the project file.</summary>
    public static int Main(StartInfo* startInfo)
    {
        Console.WriteLine("Hello from TemplateNamespace, a ParaVirt guest kernel (PARAVIRT_MODE mode)");
        // Cpu is the seam between the modes: in full mode this reads the emulated PIT, in para mode
        // the paravirtual clock page, without an exit.
        ulong start = Cpu.NowNanoseconds();
        Console.Write("heap at ");
        Console.WriteHex(startInfo->HeapStart);
        Console.Write(", clock read in ");
        Console.WriteDecimal(Cpu.NowNanoseconds() - start);
        Console.WriteLine(" ns");
        return 0;
    }
}
