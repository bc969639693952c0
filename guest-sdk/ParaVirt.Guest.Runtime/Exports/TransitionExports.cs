using System;
using System.Runtime;

namespace Internal.Runtime.Exports;

/// <summary>
/// The GC-transition helpers ilc calls around unmanaged calls and callbacks. A guest has one
/// thread and no GC, so every transition is a no-op and the trap-threads flag (a data symbol the
/// image builder provides, <c>RhpTrapThreads</c>) stays zero.
/// </summary>
internal static class TransitionExports
{
    [RuntimeExport("RhpReversePInvoke")]
    private static void RhpReversePInvoke(IntPtr frame) { }

    [RuntimeExport("RhpReversePInvokeReturn")]
    private static void RhpReversePInvokeReturn(IntPtr frame) { }

    [RuntimeExport("RhpPInvoke")]
    private static void RhpPInvoke(IntPtr frame) { }

    [RuntimeExport("RhpPInvokeReturn")]
    private static void RhpPInvokeReturn(IntPtr frame) { }

    [RuntimeExport("RhpGcPoll")]
    private static void RhpGcPoll() { }
}
