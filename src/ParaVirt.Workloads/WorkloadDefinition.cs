using System.Linq;

namespace ParaVirt.Workloads;

/// <summary>
/// A workload that both guest builds (full and para) run: its name is the guest's command line
/// word, and one operation is what <see cref="OperationUnit"/> says.
/// </summary>
/// <param name="Name">The workload's name ("blk-write").</param>
/// <param name="OperationUnit">What one operation is ("4 KiB request").</param>
/// <param name="Operations">Operations in a full run.</param>
/// <param name="QuickOperations">Operations with --quick.</param>
/// <param name="BytesPerOperation">Payload bytes per operation, for throughput (0 if none).</param>
/// <param name="Description">One line for tables and help.</param>
/// <example><code>
/// var blkWrite = new WorkloadDefinition("blk-write", "4 KiB request", 1024, 128, 4096, "write 4 MiB")
/// {
///     Disk = WorkloadDisk.Blank,
///     HostCheck = WorkloadHostCheck.DiskHoldsPattern,
/// };
/// </code></example>
public sealed record WorkloadDefinition(
    string Name,
    string OperationUnit,
    long Operations,
    long QuickOperations,
    long BytesPerOperation,
    string Description)
{
    /// <summary>What the runner puts on the VM's disk before the run (default: a small blank disk).</summary>
    public WorkloadDisk Disk { get; init; } = WorkloadDisk.None;

    /// <summary>A run that exits 0 without opening and closing its measurement window is a failure (always so for user images).</summary>
    public bool RequiresWindow { get; init; }

    /// <summary>
    /// A workload of a user's own image pair (docs/workloads.md): the guest gets the command line
    /// <c>"&lt;name&gt; &lt;operations&gt;"</c>, must bracket its loop with the two marker hypercalls and
    /// exit 0; the host checks nothing else.
    /// </summary>
    /// <exception cref="System.ArgumentException">The name is empty, has white space, or is longer than 64 characters; or the count is not positive.</exception>
    public static WorkloadDefinition ForUserImage(string name, long operations)
    {
        System.ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 64 || name.Any(char.IsWhiteSpace))
            throw new System.ArgumentException($"a workload name is one word of 1 to 64 characters, not '{name}'", nameof(name));
        System.ArgumentOutOfRangeException.ThrowIfNegativeOrZero(operations);
        return new WorkloadDefinition(name, "operation", operations, operations, 0, "a workload of a user image pair") { RequiresWindow = true };
    }

    /// <summary>What the host checks after the run, besides the guest's exit code.</summary>
    public WorkloadHostCheck HostCheck { get; init; } = WorkloadHostCheck.None;

    /// <summary>
    /// Says why this host cannot virtualize what the workload measures in a mode (for example
    /// <c>cpuid</c> does not trap), from the engine's probed behaviour; null when it can. A run
    /// with a limitation is expected to end with <see cref="WorkloadProtocol.ExitNotVirtualized"/>,
    /// and <c>paravirt compare</c> shows the reason instead of a failure.
    /// </summary>
    public System.Func<ParaVirt.Core.Engine.PlatformBehaviour, ParaVirt.Core.Machine.VirtualizationMode, string?>? HostLimitation { get; init; }
}

/// <summary>The disk a workload's VM gets.</summary>
public enum WorkloadDisk
{
    /// <summary>The workload does not use the disk: a 1 MiB blank disk is attached anyway, so both modes always have the same devices.</summary>
    None,

    /// <summary>A blank (zero) disk of <c>operations × BytesPerOperation</c> bytes.</summary>
    Blank,

    /// <summary>A disk of that size pre-filled by the host with <see cref="SectorPattern"/> (unless the caller supplies a disk file).</summary>
    Pattern,
}

/// <summary>Host-side verification after the guest exits.</summary>
public enum WorkloadHostCheck
{
    /// <summary>Only the guest's exit code.</summary>
    None,

    /// <summary>Exactly <c>operations</c> console bytes arrived, each equal to <see cref="WorkloadProtocol.ConsoleByte"/>.</summary>
    ConsoleStream,

    /// <summary>The disk file holds <see cref="SectorPattern"/> in every sector the workload wrote.</summary>
    DiskHoldsPattern,
}
