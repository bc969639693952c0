using System;

namespace ParaVirt.Cli;

/// <summary>A failure the user can act on: printed as one line "paravirt: message", with an exit code, never a stack trace.</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    /// <summary>The process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>Process exit codes of <c>paravirt</c> besides a guest's own exit code.</summary>
public static class ExitCodes
{
    /// <summary>Something failed (the message says what).</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong.</summary>
    public const int Usage = 2;

    /// <summary>KVM is not usable on this machine.</summary>
    public const int NoKvm = 3;

    /// <summary>The image is missing, unreadable or invalid.</summary>
    public const int BadImage = 4;

    /// <summary>The VM stopped abnormally (trap, watchdog, triple fault, host error).</summary>
    public const int VmFailed = 5;
}
