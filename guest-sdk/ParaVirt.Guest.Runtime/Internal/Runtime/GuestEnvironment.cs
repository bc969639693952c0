using ParaVirt.Abi;

namespace Internal.Runtime;

/// <summary>
/// What the runtime knows about the VM it runs in: the start-info page the host passed at entry.
/// The SDK's entry thunk calls <see cref="Initialize"/> before any guest code runs.
/// </summary>
/// <example><code>
/// [RuntimeExport("__paravirt_entry")]
/// static int Entry(StartInfo* info) { GuestEnvironment.Initialize(info); return Kernel.Main(info); }
/// </code></example>
public static unsafe class GuestEnvironment
{
    private static StartInfo* s_startInfo;

    /// <summary>The start-info page, or null before <see cref="Initialize"/>.</summary>
    public static StartInfo* StartInfo => s_startInfo;

    /// <summary>The hypercall page's guest address, or 0 before <see cref="Initialize"/>.</summary>
    public static ulong HypercallPage => s_startInfo == null ? 0 : s_startInfo->HypercallPage;

    /// <summary>Records the start-info page and sets the heap up. Called once, at entry.</summary>
    public static void Initialize(StartInfo* info)
    {
        s_startInfo = info;
        BumpAllocator.Initialize(info->HeapStart, info->HeapSize);
    }
}
