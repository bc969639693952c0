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
public sealed record WorkloadDefinition(
    string Name,
    string OperationUnit,
    long Operations,
    long QuickOperations,
    long BytesPerOperation,
    string Description);
