namespace ParaVirt.Workloads;

/// <summary>
/// The contract between the workloads guest and the host's runner, compiled into both (the host
/// owns it in src/ParaVirt.Workloads/Protocol; src/ParaVirt.Workloads.Guest links the source): the
/// measurement hypercalls, the guest's exit codes, the request size of the block workloads and the
/// console workload's byte stream.
/// </summary>
/// <example><code>
/// // guest
/// Measurement.Start(operations);   // hypercall WorkloadProtocol.MeasureStartHypercall
/// // host
/// vm.Hypercalls.Register(WorkloadProtocol.MeasureStartHypercall, "measure-start", handler);
/// </code></example>
public static class WorkloadProtocol
{
    /// <summary>Host-extension hypercall (64..126) the guest makes right before its measured loop (arg0: operations).</summary>
    public const uint MeasureStartHypercall = 96;

    /// <summary>Host-extension hypercall the guest makes right after its measured loop (arg0: operations done).</summary>
    public const uint MeasureStopHypercall = 97;

    /// <summary>Exit code: the workload ran and verified.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code: the command line is not "name count [disk=device]".</summary>
    public const int ExitBadCommandLine = 64;

    /// <summary>Exit code: no workload has that name.</summary>
    public const int ExitUnknownWorkload = 65;

    /// <summary>Exit code: a device did not initialise.</summary>
    public const int ExitDeviceInitFailed = 66;

    /// <summary>Exit code: an I/O request failed (status or ERR bit).</summary>
    public const int ExitIoFailed = 67;

    /// <summary>Exit code: data read back did not match the pattern.</summary>
    public const int ExitVerifyFailed = 68;

    /// <summary>Exit code: the workload does not exist in this build's mode.</summary>
    public const int ExitNotInThisMode = 69;

    /// <summary>Exit code: a hostile-ring workload did not see the defined outcome.</summary>
    public const int ExitUnexpectedOutcome = 70;

    /// <summary>Exit code: the disk is smaller than the workload needs.</summary>
    public const int ExitDiskTooSmall = 71;

    /// <summary>Exit code: the guest did not see ParaVirt's answer: this host let the instruction through to an outer hypervisor (the probe predicts it).</summary>
    public const int ExitNotVirtualized = 72;

    /// <summary>Exit code: the <c>disk=</c> word names no disk device this build of the guest drives (see <see cref="DiskWireName"/>).</summary>
    public const int ExitUnknownDisk = 80;
    /// <summary>Exit code: the host refused a page-table update or MMU command of a memory workload.</summary>
    public const int ExitMmuRefused = 90;

    /// <summary>Exit code: a memory workload ran out of frames.</summary>
    public const int ExitNoFrames = 91;

    /// <summary>Exit code: the host offers no paravirtual MMU (para build) for a memory workload.</summary>
    public const int ExitMmuUnavailable = 92;

    /// <summary>Bytes per block-workload request (one operation).</summary>
    public const int BlockRequestBytes = 4096;

    /// <summary>512-byte sectors per block-workload request.</summary>
    public const int SectorsPerRequest = BlockRequestBytes / 512;

    /// <summary>The console workload's line length (the 64th byte of each line is '\n').</summary>
    public const int ConsoleLineLength = 64;

    /// <summary>Byte <paramref name="index"/> of the console workload's stream: printable ASCII lines of 64 bytes.</summary>
    public static byte ConsoleByte(long index)
    {
        long column = index % ConsoleLineLength;
        if (column == ConsoleLineLength - 1)
            return (byte)'\n';
        return (byte)(33 + (int)((column + index / ConsoleLineLength) % 94));
    }
}
