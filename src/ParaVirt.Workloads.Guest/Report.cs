using ParaVirt.Guest;
using ParaVirt.Guest.Drivers;

namespace Workloads;

/// <summary>One-line failure reports on the console (hypercall console, outside the measured window).</summary>
internal static class Report
{
    /// <summary>Prints "workloads: what failed: status" and returns <paramref name="exitCode"/>.</summary>
    public static int Failure(string what, int status, int exitCode)
    {
        Console.Write("workloads: ");
        Console.Write(what);
        Console.Write(" failed: ");
        Console.Write(DriverStatus.Describe(status));
        Console.Write(" (");
        Console.WriteDecimal(status);
        Console.WriteLine(")");
        return exitCode;
    }
}
