using ParaVirt.Abi;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// The workloads guest. One image per mode (Workloads.Full.pvimg, Workloads.Para.pvimg) built from
/// these sources; the command line names the workload and its operation count, for example
/// <c>blk-write 1024</c>. The exit code is <see cref="WorkloadProtocol.ExitOk"/> when the workload
/// ran and verified, another <see cref="WorkloadProtocol"/> code otherwise.
/// </summary>
public static unsafe class Kernel
{
    /// <summary>The entry point (named by &lt;ParaVirtEntryPoint&gt;).</summary>
    public static int Main(StartInfo* startInfo)
    {
        if (!WorkloadCommandLine.TryParse(startInfo, out System.ReadOnlySpan<byte> name, out long operations, out System.ReadOnlySpan<byte> disk))
        {
            ParaVirt.Guest.Console.WriteLine("workloads: the command line must be '<workload> <operations> [disk=<device>]'");
            return WorkloadProtocol.ExitBadCommandLine;
        }
        if (CpuWorkloads.TryRun(name, operations, out int exitCode))
            return exitCode;
        if (MemoryWorkloads.TryRun(name, operations, out exitCode))
            return exitCode;
        if (WorkloadCommandLine.Is(name, "console"))
            return ConsoleWorkload.Run(operations, startInfo);
        if (WorkloadCommandLine.Is(name, "blk-write"))
            return BlockWorkload.Run(write: true, random: false, ParaVirt.Guest.Drivers.VirtioBlkDriver.QueueDepth, operations, disk);
        if (WorkloadCommandLine.Is(name, "blk-read"))
            return BlockWorkload.Run(write: false, random: false, ParaVirt.Guest.Drivers.VirtioBlkDriver.QueueDepth, operations, disk);
        if (WorkloadCommandLine.Is(name, "blk-randread"))
            return BlockWorkload.Run(write: false, random: true, queueDepth: 1, operations, disk);
        if (WorkloadCommandLine.Is(name, "blk-randread-qd32"))
            return BlockWorkload.Run(write: false, random: true, queueDepth: 32, operations, disk);
        if (WorkloadCommandLine.Is(name, "hostile-prd"))
            return HostilePrdWorkload.Run();
        if (WorkloadCommandLine.Is(name, "hostile-nvme"))
            return HostileNvmeWorkload.Run();
        if (WorkloadCommandLine.Is(name, "hostile-desc-loop"))
            return HostileRingWorkload.Run(HostileRingWorkload.Corruption.DescriptorLoop);
        if (WorkloadCommandLine.Is(name, "hostile-avail-ahead"))
            return HostileRingWorkload.Run(HostileRingWorkload.Corruption.AvailIndexFarAhead);
        if (WorkloadCommandLine.Is(name, "hostile-async-desc-loop"))
            return HostileRingWorkload.Run(HostileRingWorkload.Corruption.DescriptorLoop, asynchronous: true);
        ParaVirt.Guest.Console.WriteLine("workloads: unknown workload");
        return WorkloadProtocol.ExitUnknownWorkload;
    }
}
