using System.Runtime;

namespace Internal.Runtime.Exports;

/// <summary>The runtime's last-resort failure paths, as ilc-generated code calls them.</summary>
internal static class FailFastExports
{
    /// <summary>Called when a stack cookie (<c>__security_cookie</c>, provided by the image builder) was overwritten.</summary>
    [RuntimeExport("RhpFallbackFailFast")]
    private static void RhpFallbackFailFast() => GuestFailFast.Fail("stack corruption detected (stack cookie overwritten)");

    [RuntimeExport("RhpStelemRef")]
    private static void RhpStelemRef() => GuestFailFast.Fail("storing into an array of references is not supported in a guest");

    [RuntimeExport("RhpThrowEx")]
    private static void RhpThrowEx() => GuestFailFast.Fail("an exception was thrown (exceptions are not supported in a guest)");
}
