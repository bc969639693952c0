using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Pipelines;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.Win32.SafeHandles;
using System.Threading.Tasks;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Cli.Devices;
using ParaVirt.Image;
using ParaVirt.Vmm;
using ParaVirt.Vmm.Debugging;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary><c>paravirt run</c>: load a .pvimg, run it on KVM, stream its console, summarise, return its exit code.</summary>
internal static class RunCommand
{
    public static readonly string Help = $"""
        usage: paravirt run <image.pvimg> [--mode full|para [--disk FILE [--disk-interface NAME]]] [--cmdline TEXT]
                            [--memory MiB] [--timeout s] [--host-calls] [--gdb PORT] [--quiet] [--engine NAME]
                            [--device-assembly FILE.dll --device NAME[:OPTIONS]]...

        Runs a guest image on an engine (default {Engines.Default}). The guest console goes to stdout; a
        summary (stop reason, wall time, exits by reason, hypercalls by name) goes to stderr.

          --mode full    attach the full-virtualization platform: trap-and-emulate, PIT, RTC,
                         16550 UART on COM1, and with --disk an ATA PIO disk
          --mode para    attach the paravirtual platform: shared-info page, PV clock, timers,
                         events, virtio-console, and with --disk virtio-blk
          --disk FILE    a raw disk image file (512-byte sectors) for the mode's disk device
          --disk-interface NAME
                         the disk's device instead of the mode's default: ata-pio, ide-dma or
                         nvme (full), virtio-blk or virtio-blk-async (para)
          --cmdline TEXT the guest's command line (StartInfo.CommandLine)
          --memory MiB   guest RAM, a multiple of 2 from 4 to 1024 (default 32)
          --timeout s    stop the guest after this many seconds (default 60)
          --host-calls   offer the demo host functions add, greet and fail (docs/host-calls.md)
          --gdb PORT     serve the GDB remote protocol on localhost:PORT and wait at the entry
                         point for gdb (gdb IMAGE.pvimg.elf -ex 'target remote :PORT');
                         no time limit unless --timeout is given (docs/debugging.md)
          --quiet        no summary
          --engine NAME  the engine (engines: {string.Join(", ", Engines.Names)})
          --device-assembly FILE.dll
                         an assembly with virtio devices of your own (repeatable): public
                         VirtioDevice subclasses marked [VirtioDevice("name")], or public
                         IVirtioDeviceFactory classes (docs/cli.md)
          --device NAME[:OPTIONS]
                         attach that device (para mode; repeatable), after virtio-console and
                         virtio-blk; OPTIONS is passed to its constructor as a string

        Without --mode the VM is bare: the standard hypercalls (console, shutdown, multicall)
        and nothing else.

        The time limit covers the console too: a guest blocked because stdout is not read is
        stopped by the watchdog, and output still undelivered a second after the limit is dropped
        (the summary counts it).

        Exit code: the guest's own exit code when it shuts down; {ExitCodes.VmFailed} when the VM stops
        abnormally (trap, watchdog, triple fault); {ExitCodes.NoKvm} without KVM; {ExitCodes.BadDisk} for a disk file that cannot
        be opened; {ExitCodes.BadImage} for a bad image; {ExitCodes.BadDevice} for a device assembly or device that cannot be
        loaded or started; {ExitCodes.Usage} for a bad command line.
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        Arguments parsed = Arguments.Parse("run", args, valued: ["--memory", "--timeout", "--mode", "--disk", "--disk-interface", "--cmdline", "--gdb", EngineOption.Flag, "--device-assembly", "--device"], switches: ["--quiet", "--host-calls"]);
        if (parsed.Positional.Count != 1)
            throw Arguments.Usage("run", parsed.Positional.Count == 0 ? "missing the image to run" : $"unexpected argument '{parsed.Positional[1]}'");
        string path = parsed.Positional[0];
        double memoryMiB = parsed.Number("--memory", 32, 4, 1024);
        if (memoryMiB % 2 != 0)
            throw Arguments.Usage("run", $"option '--memory' must be a multiple of 2 MiB, not {memoryMiB}");
        int? gdbPort = parsed.Value("--gdb") is null ? null : (int)parsed.Number("--gdb", 0, 1, 65535);
        // A debugging session has no time limit unless one is asked for.
        double timeout = parsed.Number("--timeout", gdbPort is null ? 60 : 86_400, 0.001, 86_400);
        VirtualizationMode? mode = parsed.Value("--mode") switch
        {
            null => null,
            "full" => VirtualizationMode.Full,
            "para" => VirtualizationMode.Para,
            string other => throw Arguments.Usage("run", $"option '--mode' must be 'full' or 'para', not '{other}'"),
        };
        string? diskPath = parsed.Value("--disk");
        if (diskPath is not null && mode is null)
            throw Arguments.Usage("run", "option '--disk' needs '--mode full' or '--mode para' (the mode decides the disk device)");
        DiskInterface? diskInterface = ParseDiskInterface(parsed.Value("--disk-interface"), diskPath, mode);
        byte[] commandLine = Encoding.UTF8.GetBytes(parsed.Value("--cmdline") ?? "");
        if (commandLine.Length > VirtualMachine.MaxCommandLine)
            throw Arguments.Usage("run", $"option '--cmdline' is {commandLine.Length} bytes; at most {VirtualMachine.MaxCommandLine} fit the start-info page");

        string engine = EngineOption.Resolve(parsed, "run");
        IReadOnlyList<string> deviceNames = parsed.All("--device");
        IReadOnlyList<string> deviceAssemblies = parsed.All("--device-assembly");
        if (deviceNames.Count > 0 && deviceAssemblies.Count == 0)
            throw Arguments.Usage("run", "option '--device' needs '--device-assembly FILE.dll' (the assembly that declares the device)");
        if (deviceNames.Count > 0 && mode != VirtualizationMode.Para)
            throw Arguments.Usage("run", "option '--device' needs '--mode para' (virtio devices are para mode's)");

        PvImage image = ReadImage(path);
        UserDevices devices = UserDevices.Resolve(deviceAssemblies, deviceNames);
        EngineOption.RequireAvailable(engine);
        using DiskImage? disk = diskPath is null ? null : OpenDisk(diskPath);

        var stopwatch = Stopwatch.StartNew();
        // The vCPU waits on this pipe when stdout falls 1 MiB behind; the writer's continuation runs
        // inline on the pump (no thread-pool hop, no allocation) and a stop cancels the wait.
        var console = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        var delivered = new DeliveredCount();
        Task pump = PumpAsync(console.Reader, OpenStdout(), delivered);
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(timeout);
        VmStopReason stop;
        MachineBuilder builder = MachineBuilder.Create(engine)
            .WithMemory((ulong)memoryMiB << 20)
            .WithConsole(console.Writer)
            .WithDisk(disk)
            .WithCommandLine(commandLine)
            .WithImage(image);
        if (mode is { } platform)
            builder.WithMode(platform);
        if (disk is not null && diskInterface is { } chosen)
            builder.WithDisk(disk, chosen);
        devices.AddTo(builder);
        Machine machine;
        try
        {
            machine = builder.Build();
        }
        catch (InvalidImageException ex)
        {
            throw new CliException($"{path}: {ex.Message}", ExitCodes.BadImage);
        }
        using (machine)
        {
            if (parsed.Has("--host-calls"))
                DemoHostFunctions.Create().Attach(machine.Vm);
            using ParaVirt.Vmm.Debugging.GdbStub? gdb = gdbPort is { } port ? AttachGdb(machine, port) : null;
            stop = machine.Run(TimeSpan.FromSeconds(timeout));
            // A crash gets a symbolized backtrace, read while the VM's memory is still there.
            IReadOnlyList<GuestFrame>? backtrace = stop.IsCrash ? CaptureBacktrace(machine, image, path) : null;
            console.Writer.Complete();
            // The time limit covers delivering the output too: a stdout nobody reads must not keep
            // the process alive. The pump gets what is left of it (at least DrainGrace); if it is
            // still blocked in a write then, it is abandoned and what it held counts as dropped.
            TimeSpan drain = deadline - DateTime.UtcNow;
            _ = pump.Wait(drain > DrainGrace ? drain : DrainGrace);
            stopwatch.Stop();
            long dropped = machine.Vm.Console.BytesDropped + Math.Max(0, machine.Vm.Console.BytesWritten - delivered.Value);
            if (!parsed.Has("--quiet"))
                RunSummary.Write(Console.Error, machine.Vm, stop, stopwatch.Elapsed, dropped, machine.Virtio, backtrace);
            else if (backtrace is not null)
                RunSummary.WriteBacktrace(Console.Error, backtrace);
        }
        if (stop.Kind == VmStopKind.GuestShutdown)
            return stop.ExitCode;
        Console.Error.WriteLine($"paravirt: the VM stopped: {stop.Message}");
        return ExitCodes.VmFailed;
    }

    /// <summary>The guest's backtrace, symbolized with the debug ELF beside the image (IMAGE.pvimg.elf) when there is one.</summary>
    private static IReadOnlyList<GuestFrame> CaptureBacktrace(Machine machine, PvImage image, string path)
    {
        ImageSymbols? symbols = ImageSymbols.TryLoad(path + DebugElfWriter.Suffix);
        return GuestBacktrace.Capture(machine.Vm, symbols, image.LoadAddress, image.LoadAddress + image.MemorySize);
    }

    private static ParaVirt.Vmm.Debugging.GdbStub AttachGdb(Machine machine, int port)
    {
        try
        {
            ParaVirt.Vmm.Debugging.GdbStub stub = machine.AttachGdb(port);
            Console.Error.WriteLine($"paravirt: waiting for gdb on localhost:{stub.Port} (gdb <image>.pvimg.elf -ex 'target remote :{stub.Port}')");
            return stub;
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new CliException($"cannot listen for gdb on localhost:{port}: {ex.Message}", ExitCodes.Usage);
        }
    }

    /// <summary>The disk device <c>--disk-interface</c> names, checked against the mode; null for the mode's default.</summary>
    private static DiskInterface? ParseDiskInterface(string? name, string? diskPath, VirtualizationMode? mode)
    {
        if (name is null)
            return null;
        if (diskPath is null)
            throw Arguments.Usage("run", "option '--disk-interface' needs '--disk FILE'");
        if (!DiskDevices.TryParse(name, out DiskInterface disk))
            throw Arguments.Usage("run", $"unknown disk interface '{name}' (known: {string.Join(", ", DiskInterfaces.All.ToArray().Select(DiskDevices.WireName))})");
        VirtualizationMode needs = DiskInterfaces.ModeOf(disk);
        if (needs != mode)
            throw Arguments.Usage("run", $"the disk interface '{name}' is a {needs.ToString().ToLowerInvariant()}-mode device; this run is in {mode?.ToString().ToLowerInvariant()} mode");
        return disk;
    }

    internal static PvImage ReadImage(string path)
    {
        if (Directory.Exists(path))
            throw new CliException($"{path} is a directory, not a .pvimg image", ExitCodes.BadImage);
        if (!File.Exists(path))
            throw new CliException($"image '{path}' not found", ExitCodes.BadImage);
        try
        {
            // The reader names the file in its messages: give it the path as the user wrote it.
            return PvImageReader.Read(File.ReadAllBytes(path), path);
        }
        catch (InvalidImageException ex)
        {
            throw new CliException(ex.Message, ExitCodes.BadImage);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read '{path}': {ex.Message}", ExitCodes.BadImage);
        }
    }

    private static DiskImage OpenDisk(string path)
    {
        if (Directory.Exists(path))
            throw new CliException($"disk '{path}' is a directory, not a disk image file", ExitCodes.BadDisk);
        if (!File.Exists(path))
            throw new CliException($"disk '{path}' not found (create one with: truncate -s 16M {path})", ExitCodes.BadDisk);
        try
        {
            return DiskImage.Open(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot open disk '{path}': {ex.Message}", ExitCodes.BadDisk);
        }
    }

    /// <summary>
    /// File descriptor 1 as a plain stream. Not <see cref="Console.OpenStandardOutput()"/>: on Unix
    /// its writes hold a lock that <see cref="Console.Error"/> takes too, so a pump blocked on a
    /// full stdout pipe would block the summary and the error message on stderr as well.
    /// </summary>
    private static Stream OpenStdout()
    {
        if (!OperatingSystem.IsLinux())
            return Console.OpenStandardOutput();
        return new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
    }

    /// <summary>How long the pump may still deliver output once the time limit has passed.</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(1);

    /// <summary>Bytes the pump has handed to stdout.</summary>
    private sealed class DeliveredCount
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Add(long bytes) => Interlocked.Add(ref _value, bytes);
    }

    private static async Task PumpAsync(PipeReader reader, Stream output, DeliveredCount delivered)
    {
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    await output.WriteAsync(segment).ConfigureAwait(false);
                    delivered.Add(segment.Length);
                }
                await output.FlushAsync().ConfigureAwait(false);
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                    break;
            }
        }
        catch (IOException)
        {
            // stdout was closed (a pipe whose reader exited): the console sees a completed reader
            // and drops the rest of the guest's output, counted.
        }
        await reader.CompleteAsync().ConfigureAwait(false);
    }
}
