using Internal.Runtime;
using ParaVirt.Abi;

namespace ParaVirt.Guest;

/// <summary>
/// The guest's view of its VM, set up at entry. A kernel declares its entry as
/// <c>static int Main(StartInfo* startInfo)</c> and names it in its project with
/// <c>&lt;ParaVirtEntryPoint&gt;MyKernel.Kernel.Main&lt;/ParaVirtEntryPoint&gt;</c>; the image builder
/// generates the exported entry thunk (<c>__paravirt_entry</c>), which calls <see cref="Start"/>
/// and then the kernel's Main. Main's return value is the VM's exit code.
/// </summary>
/// <example><code>
/// public static unsafe class Kernel
/// {
///     public static int Main(StartInfo* startInfo)
///     {
///         Console.WriteLine("hello");
///         return 0;
///     }
/// }
/// </code></example>
public static unsafe class Guest
{
    /// <summary>True when the image was built with <c>&lt;ParaVirtMode&gt;para&lt;/ParaVirtMode&gt;</c>.</summary>
#if PARAVIRT_PARA
    public const bool IsParavirtualized = true;
#else
    public const bool IsParavirtualized = false;
#endif

    /// <summary>The start-info page the host passed at entry.</summary>
    public static StartInfo* StartInfo => GuestEnvironment.StartInfo;

    /// <summary>Called by the generated entry thunk before the kernel's Main: records the start-info page and sets up the heap.</summary>
    public static void Start(StartInfo* startInfo)
    {
        if (startInfo->Magic != ParaVirt.Abi.StartInfo.MagicValue)
        {
            // Without a valid page there is no hypercall page to report through: spin until the
            // host's watchdog ends the run.
            while (true) { }
        }
        GuestEnvironment.Initialize(startInfo);
    }

    /// <summary>Shuts the VM down with <paramref name="exitCode"/> and an optional reason. Does not return.</summary>
    public static void Exit(int exitCode, string reason = null)
    {
        Hypercalls.Shutdown(exitCode, reason);
    }

    /// <summary>Stops the VM as a failure (exit code <see cref="GuestFailFast.ExitCode"/>) with <paramref name="reason"/>. Does not return.</summary>
    public static void FailFast(string reason) => GuestFailFast.Fail(reason);
}
