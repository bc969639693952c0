using System;

namespace ParaVirt.Image;

/// <summary>
/// Turns a runtime symbol that ilc left undefined into the C# feature that needs it, so that a
/// guest using a feature the guest runtime lacks gets a build error that names the feature.
/// </summary>
/// <example><code>UnsupportedFeatureHints.Describe("RhpThrowEx") // "throwing exceptions"</code></example>
public static class UnsupportedFeatureHints
{
    /// <summary>The C# feature behind <paramref name="symbol"/>, or null when unknown.</summary>
    public static string? Describe(string symbol) => symbol switch
    {
        "RhpThrowEx" or "RhpRethrow" or "RhpCallCatchFunclet" or "RhpCallFinallyFunclet" => "throwing or catching exceptions",
        "RhBox" or "RhUnbox2" or "RhUnboxNullable" => "boxing a value type (object o = 42)",
        _ when symbol.StartsWith("RhTypeCast_", StringComparison.Ordinal) => "a cast or 'is' test the compiler cannot resolve statically",
        "RhpInitialDynamicInterfaceDispatch" or "RhpResolveInterfaceMethod" or "RhpCidResolve" => "calling a method through an interface",
        _ when symbol.StartsWith("RhpGetThreadStaticBase", StringComparison.Ordinal) || symbol == "__tls_get_addr" => "[ThreadStatic] fields",
        _ when symbol.StartsWith("RhpLockCmpXchg", StringComparison.Ordinal) || symbol.StartsWith("RhpCheckedLockCmpXchg", StringComparison.Ordinal) || symbol.StartsWith("RhpCheckedXchg", StringComparison.Ordinal) => "Interlocked operations on references",
        "RhpNewArray" or "RhNewArray" or "RhNewObject" or "RhpNewFast" => "allocation (the guest runtime was not linked in)",
        "memset" or "memcpy" or "memmove" => "a block copy or fill the runtime does not provide",
        _ when symbol.StartsWith("Rhp", StringComparison.Ordinal) || symbol.StartsWith("Rh", StringComparison.Ordinal) => "a .NET runtime service the guest runtime does not provide",
        _ => null,
    };
}
