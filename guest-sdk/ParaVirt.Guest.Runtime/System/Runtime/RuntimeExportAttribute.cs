namespace System.Runtime;

/// <summary>
/// Exports a method under a symbol name (ilc emits it as a global symbol). The runtime's stubs use
/// it; a guest uses it for its entry point.
/// </summary>
/// <example><code>[RuntimeExport("RhpGcPoll")] static void GcPoll() { }</code></example>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class RuntimeExportAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public RuntimeExportAttribute(string entry) { }
}

/// <summary>
/// Declares an extern method implemented by a native symbol: ilc emits a direct call to
/// <c>entry</c> with no transition. The image builder resolves the symbol (ParaVirt's CPU
/// instruction stubs are resolved this way).
/// </summary>
/// <example><code>
/// [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "__pv_insn_hlt")]
/// static extern void Hlt();
/// </code></example>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class RuntimeImportAttribute : Attribute
{
    /// <summary>Creates the attribute with a library name ("*" for the image itself).</summary>
    public RuntimeImportAttribute(string lib) { }

    /// <summary>Creates the attribute with a library name and a symbol.</summary>
    public RuntimeImportAttribute(string lib, string entry) { }
}
