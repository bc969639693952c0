using System;
using System.Diagnostics;
using System.IO;
using System.IO.Pipelines;
using System.Text;
using System.Threading.Tasks;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Image;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads;

/// <summary>
/// Runs one workload in one mode on an engine (by name, <see cref="Engines.Default"/> unless given)
/// and measures it: builds the machine with <see cref="MachineBuilder"/> (the mode's platform over a disk file,
/// CPU virtualization, the mode's image with the command line <c>"&lt;workload&gt; &lt;operations&gt; disk=&lt;device&gt; [wait=block]"</c>),
/// adds the measurement markers, runs it, drains the console, checks the outcome and cleans up its
/// temporary files.
/// </summary>
/// <example><code>
/// var runner = new WorkloadRunner();                 // or new WorkloadRunner("kvm")
/// WorkloadResult full = runner.Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Full, new WorkloadRunOptions { Quick = true });
/// WorkloadResult para = runner.Run(WorkloadCatalog.BlockWrite, VirtualizationMode.Para, new WorkloadRunOptions { Quick = true });
/// Console.WriteLine($"para is {full.NsPerOp / para.NsPerOp:F0}x faster");
/// </code></example>
public sealed class WorkloadRunner
{
    /// <summary>Bytes of disk for a workload that does not use it.</summary>
    public const long SpareDiskBytes = 1 << 20;

    /// <summary>Whether the default engine is usable here, and why not.</summary>
    public static bool IsAvailable(out string reason) => Engines.IsAvailable(Engines.Default, out reason);

    /// <summary>A runner on the engine named <paramref name="engineName"/> (<see cref="Engines.Default"/> when null).</summary>
    /// <exception cref="ArgumentException">No engine has that name (<see cref="Engines.Names"/> lists them).</exception>
    public WorkloadRunner(string? engineName = null)
    {
        engineName ??= Engines.Default;
        if (!Engines.IsKnown(engineName))
            throw new ArgumentException($"no engine is named '{engineName}' (engines: {string.Join(", ", Engines.Names)})", nameof(engineName));
        EngineName = engineName;
    }

    /// <summary>The engine every run uses.</summary>
    public string EngineName { get; }

    /// <summary>Runs <paramref name="workload"/> in <paramref name="mode"/>.</summary>
    /// <exception cref="WorkloadException">The image is missing or invalid, or the disk file cannot be prepared.</exception>
    /// <exception cref="InvalidOperationException"><see cref="WorkloadRunOptions.DiskInterface"/> is a device of the other mode.</exception>
    /// <exception cref="NotSupportedException"><see cref="WorkloadRunOptions.DiskInterface"/> is not built yet.</exception>
    /// <exception cref="ArgumentException"><see cref="DiskCompletion.Interrupt"/> on a disk workload whose device completes inside the submitting exit.</exception>
    public WorkloadResult Run(WorkloadDefinition workload, VirtualizationMode mode, WorkloadRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        options ??= new WorkloadRunOptions();
        long operations = options.Operations ?? (options.Quick ? workload.QuickOperations : workload.Operations);
        if (operations <= 0)
            throw new WorkloadException($"{workload.Name}: the operation count must be positive, not {operations}");
        if (options.Completion == DiskCompletion.Interrupt && workload.Disk != WorkloadDisk.None
            && !DiskDevices.CompletesAsynchronously(options.DiskInterface ?? DiskInterfaces.DefaultFor(mode)))
            throw new ArgumentException($"{DiskDevices.WireName(options.DiskInterface ?? DiskInterfaces.DefaultFor(mode))} completes inside the exit that submits: it has no interrupt completion", nameof(options));

        string imagePath = options.ImagePath ?? WorkloadImages.Find(mode, options.ImageDirectory);
        PvImage image;
        try
        {
            image = PvImageReader.ReadFile(imagePath);
        }
        catch (Exception ex) when (ex is InvalidImageException or IOException or UnauthorizedAccessException)
        {
            throw new WorkloadException($"{imagePath}: {ex.Message}", ex);
        }

        ulong diskSectors = DiskSectors(workload, operations);
        bool temporary = options.DiskPath is null;
        string diskPath = options.DiskPath ?? Path.Combine(Path.GetTempPath(), $"paravirt-{workload.Name}-{mode.ToString().ToLowerInvariant()}-{Guid.NewGuid():N}.img");
        DiskImage disk = OpenDisk(workload, diskPath, diskSectors);
        try
        {
            return RunOn(workload, mode, options, operations, image, disk);
        }
        finally
        {
            disk.Dispose();
            if (temporary && !options.KeepDisk)
                TryDelete(diskPath);
        }
    }

    private WorkloadResult RunOn(WorkloadDefinition workload, VirtualizationMode mode, WorkloadRunOptions options, long operations, PvImage image, DiskImage disk)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        var sink = new ConsoleSink();
        Task drain = Task.Run(() => sink.DrainAsync(pipe.Reader));
        var window = new MeasurementWindow();
        DiskInterface diskInterface = options.DiskInterface ?? DiskInterfaces.DefaultFor(mode);
        VmStopReason stop;
        long totalExits;
        string? limitation;
        try
        {
            Machine machine;
            try
            {
                machine = MachineBuilder.Create(EngineName)
                    .WithMemory(options.MemorySize)
                    .WithMode(mode)
                    .WithConsole(pipe.Writer)
                    .WithDisk(disk, diskInterface)
                    .WithCommandLine(Encoding.ASCII.GetBytes($"{workload.Name} {operations} {DiskWireName.Prefix}{DiskDevices.WireName(diskInterface)}{(options.Completion == DiskCompletion.Interrupt ? " " + DiskWireName.WaitBlock : "")}"))
                    .WithImage(image)
                    .Build();
            }
            catch (InvalidImageException ex)
            {
                throw new WorkloadException($"{(options.ImagePath is null ? WorkloadImages.FileName(mode) : options.ImagePath)}: {ex.Message}", ex);
            }
            using (machine)
            {
                limitation = workload.HostLimitation?.Invoke(machine.Vm.Engine.Behaviour, mode);
                window.Register(machine.Vm);
                stop = machine.Run(options.Timeout);
                totalExits = machine.Vm.Exits.Total;
            }
        }
        finally
        {
            pipe.Writer.Complete();
            drain.GetAwaiter().GetResult();
        }

        string? failure = Check(workload, operations, stop, window, sink, disk, limitation);
        double seconds = window.Elapsed.TotalSeconds;
        return new WorkloadResult(
            workload.Name,
            mode,
            operations,
            workload.OperationUnit,
            window.Exits,
            window.ExitsByReason(),
            seconds,
            seconds * 1e9 / operations,
            seconds > 0 ? workload.BytesPerOperation * operations / seconds : 0,
            failure is null)
        {
            ExitCode = stop.Kind == VmStopKind.GuestShutdown ? stop.ExitCode : -1,
            Stop = stop,
            Failure = failure,
            ConsoleBytes = sink.Bytes,
            TotalExits = totalExits,
            ConsoleTail = sink.Tail,
            HostLimitation = limitation,
            Device = workload.Disk == WorkloadDisk.None ? null : DiskDevices.WireName(diskInterface),
            Completion = workload.Disk == WorkloadDisk.None ? null : options.Completion,
        };
    }

    private static string? Check(WorkloadDefinition workload, long operations, VmStopReason stop, MeasurementWindow window, ConsoleSink sink, DiskImage disk, string? limitation)
    {
        if (stop.Kind != VmStopKind.GuestShutdown)
            return $"the VM stopped abnormally: {stop}";
        // A limitation the probe predicted is the verified outcome on this host; the guest seeing
        // through it anyway, or missing ParaVirt's answer without one, is a failure.
        if (limitation is not null)
            return stop.ExitCode == WorkloadProtocol.ExitNotVirtualized
                ? null
                : $"the probe predicted '{limitation}', but the guest exited with code {stop.ExitCode}{Describe(stop.ExitCode)}";
        if (stop.ExitCode != 0)
            return $"the guest exited with code {stop.ExitCode}{Describe(stop.ExitCode)}";
        if (!window.IsComplete && (workload.BytesPerOperation > 0 || workload.RequiresWindow))
            return "the guest never closed its measurement window";
        switch (workload.HostCheck)
        {
            case WorkloadHostCheck.ConsoleStream:
                if (sink.Bytes != operations || sink.MatchingPrefix != operations)
                    return $"the console received {sink.Bytes} bytes ({sink.MatchingPrefix} matching the stream) instead of {operations}";
                break;
            case WorkloadHostCheck.DiskHoldsPattern:
                long bad = DiskPattern.CountMismatchedSectors(disk, DiskSectors(workload, operations));
                if (bad != 0)
                    return $"{bad} sector(s) of the disk file do not hold the pattern after the run";
                break;
        }
        return null;
    }

    private static string Describe(int exitCode) => exitCode switch
    {
        WorkloadProtocol.ExitBadCommandLine => " (bad command line)",
        WorkloadProtocol.ExitUnknownWorkload => " (the guest does not know the workload)",
        WorkloadProtocol.ExitDeviceInitFailed => " (a device did not initialise)",
        WorkloadProtocol.ExitIoFailed => " (an I/O request failed)",
        WorkloadProtocol.ExitVerifyFailed => " (data read back did not match the pattern)",
        WorkloadProtocol.ExitNotInThisMode => " (not available in this mode)",
        WorkloadProtocol.ExitUnexpectedOutcome => " (the device did not behave as specified)",
        WorkloadProtocol.ExitDiskTooSmall => " (the disk is too small)",
        WorkloadProtocol.ExitNotVirtualized => " (the guest read an outer hypervisor's answer: not virtualized on this host)",
        WorkloadProtocol.ExitMmuRefused => " (the host refused a page-table update)",
        WorkloadProtocol.ExitNoFrames => " (the guest ran out of frames)",
        WorkloadProtocol.ExitMmuUnavailable => " (the host offers no paravirtual MMU)",
        134 => " (guest fail-fast)",
        _ => "",
    };

    private static ulong DiskSectors(WorkloadDefinition workload, long operations)
    {
        long bytes = workload.Disk == WorkloadDisk.None ? SpareDiskBytes : checked(operations * Math.Max(workload.BytesPerOperation, DiskImage.SectorSize));
        return (ulong)((bytes + DiskImage.SectorSize - 1) / DiskImage.SectorSize);
    }

    private static DiskImage OpenDisk(WorkloadDefinition workload, string path, ulong sectors)
    {
        try
        {
            if (File.Exists(path))
                return DiskImage.Open(path);
            DiskImage disk = DiskImage.Create(path, sectors);
            if (workload.Disk == WorkloadDisk.Pattern)
            {
                try
                {
                    DiskPattern.Fill(disk, sectors);
                }
                catch
                {
                    disk.Dispose();
                    throw;
                }
            }
            return disk;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new WorkloadException($"cannot prepare the disk file {path}: {ex.Message}", ex);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Trace.TraceWarning($"could not delete {path}: {ex.Message}");
        }
    }
}
