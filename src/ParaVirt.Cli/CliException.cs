using System;

namespace ParaVirt.Cli;

/// <summary>A failure the user can act on: printed as one line "paravirt: message", with an exit code, never a stack trace.</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    /// <summary>The process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// Process exit codes of <c>paravirt</c> itself. <c>paravirt run</c> otherwise returns the guest's own
/// exit code, so paravirt's codes follow BSD's sysexits.h (64 and up), clear of the small codes
/// guests use.
/// </summary>
public static class ExitCodes
{
    /// <summary>Something failed (the message says what): a workload that did not verify, an internal error.</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong (EX_USAGE).</summary>
    public const int Usage = 64;

    /// <summary>The image is missing, unreadable or invalid (EX_DATAERR).</summary>
    public const int BadImage = 65;

    /// <summary>A disk file is missing or cannot be opened (EX_NOINPUT).</summary>
    public const int BadDisk = 66;

    /// <summary>KVM is not usable on this machine (EX_UNAVAILABLE).</summary>
    public const int NoKvm = 69;

    /// <summary>The VM stopped abnormally: a trap, the watchdog, a triple fault, a host error (EX_SOFTWARE).</summary>
    public const int VmFailed = 70;

    /// <summary>An output file (--json, --markdown, --plot) could not be written (EX_CANTCREAT).</summary>
    public const int CannotWrite = 73;

    /// <summary>
    /// A user device could not be attached (EX_CONFIG): its assembly is missing or not a .NET
    /// assembly, its types cannot be loaded, a declaration is wrong, no device has the name asked
    /// for, or the device's constructor threw.
    /// </summary>
    public const int BadDevice = 78;
}
