namespace Internal.Runtime.CompilerHelpers;

/// <summary>
/// ilc looks this class up in the system module; its absence is an error. A guest has no module
/// initialisation to run (no GC, no static constructors that ilc could not pre-run), so it is empty.
/// </summary>
internal static class StartupCodeHelpers
{
}
