using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Pipelines;
using System.Threading.Tasks;
using ParaVirt.Core.Machine;
using ParaVirt.Image;
using ParaVirt.Kvm;

namespace ParaVirt.Cli.Commands;

/// <summary><c>paravirt run</c>: load a .pvimg, run it on KVM, stream its console, summarise, return its exit code.</summary>
internal static class RunCommand
{
    public const string Help = """
        usage: paravirt run <image.pvimg> [--memory MiB] [--timeout s] [--host-calls] [--quiet]

        Runs a guest image on KVM. The guest console goes to stdout; a summary (stop reason,
        wall time, exits by reason, hypercalls by name) goes to stderr.

          --memory MiB   guest RAM, a multiple of 2 from 4 to 1024 (default 32)
          --timeout s    stop the guest after this many seconds (default 60)
          --host-calls   offer the demo host functions add, greet and fail (docs/host-calls.md)
          --quiet        no summary

        Exit code: the guest's own exit code when it shuts down; 70 when the VM stops
        abnormally (trap, watchdog, triple fault); 69 without KVM; 65 for a bad image; 64 for a
        bad command line.
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        Arguments parsed = Arguments.Parse("run", args, valued: ["--memory", "--timeout"], switches: ["--quiet", "--host-calls"]);
        if (parsed.Positional.Count != 1)
            throw Arguments.Usage("run", parsed.Positional.Count == 0 ? "missing the image to run" : $"unexpected argument '{parsed.Positional[1]}'");
        string path = parsed.Positional[0];
        double memoryMiB = parsed.Number("--memory", 32, 4, 1024);
        if (memoryMiB % 2 != 0)
            throw Arguments.Usage("run", $"option '--memory' must be a multiple of 2 MiB, not {memoryMiB}");
        double timeout = parsed.Number("--timeout", 60, 0.001, 86_400);

        PvImage image = ReadImage(path);
        RequireKvm();

        var stopwatch = Stopwatch.StartNew();
        var console = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19));
        Task pump = PumpAsync(console.Reader, Console.OpenStandardOutput());
        VmStopReason stop;
        VirtualMachine vm;
        using (vm = new VirtualMachine(new KvmHypervisor(), new VmOptions { MemorySize = (ulong)memoryMiB << 20, ConsoleOutput = console.Writer }))
        {
            try
            {
                ImageLoader.Load(vm, image);
                if (parsed.Has("--host-calls"))
                    DemoHostFunctions.Create().Attach(vm);
            }
            catch (InvalidImageException ex)
            {
                throw new CliException($"{path}: {ex.Message}", ExitCodes.BadImage);
            }
            stop = vm.Run(TimeSpan.FromSeconds(timeout));
            console.Writer.Complete();
            pump.GetAwaiter().GetResult();
            stopwatch.Stop();
            if (!parsed.Has("--quiet"))
                RunSummary.Write(Console.Error, vm, stop, stopwatch.Elapsed);
        }
        if (stop.Kind == VmStopKind.GuestShutdown)
            return stop.ExitCode;
        Console.Error.WriteLine($"paravirt: the VM stopped: {stop.Message}");
        return ExitCodes.VmFailed;
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

    internal static void RequireKvm()
    {
        if (!KvmHypervisor.IsAvailable(out string reason))
            throw new CliException(reason, ExitCodes.NoKvm);
    }

    private static async Task PumpAsync(PipeReader reader, Stream output)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                await output.WriteAsync(segment).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }
        await reader.CompleteAsync().ConfigureAwait(false);
    }
}
