using System;

namespace ParaVirt.Workloads;

/// <summary>A workload could not be set up (image missing or invalid, disk file unusable): the message is one line a person can act on.</summary>
/// <example><code>
/// try { runner.Run(WorkloadCatalog.Console, VirtualizationMode.Full); }
/// catch (WorkloadException ex) { Console.Error.WriteLine(ex.Message); }
/// </code></example>
public sealed class WorkloadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WorkloadException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>Creates the exception with no message.</summary>
    public WorkloadException() { }

    /// <summary>Creates the exception.</summary>
    public WorkloadException(string message) : base(message) { }
}
