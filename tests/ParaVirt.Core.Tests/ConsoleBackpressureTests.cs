using System.IO;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Core.Tests;

/// <summary>
/// A guest blocked on console output (the reader never reads, or the output stream never returns)
/// still stops: the watchdog and <see cref="VirtualMachine.RequestStop"/> cancel the console's
/// wait, and the bytes that did not get out are counted.
/// </summary>
public class ConsoleBackpressureTests
{
    /// <summary>How long the test waits for a run that should end at once; a hang without the fix ends here as a failure.</summary>
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    /// <summary>A stream whose writes and flushes block until the test releases it.</summary>
    private sealed class BlockingStream : Stream
    {
        private readonly ManualResetEventSlim _release = new(false);

        public int Writes;

        public void Release() => _release.Set();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Interlocked.Increment(ref Writes);
            _release.Wait();
        }

        public override void Flush() => _release.Wait();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static VmStopReason RunToEnd(VirtualMachine vm, TimeSpan? watchdog, Action? whileRunning = null)
    {
        Task<VmStopReason> run = vm.RunAsync(watchdog);
        whileRunning?.Invoke();
        Assert.That(run.Wait(Generous), Is.True, "the run must end although the console output blocks");
        return run.Result;
    }

    [Test]
    public void TheWatchdogStopsAGuestBlockedOnAStreamThatNeverReturns()
    {
        var stream = new BlockingStream();
        try
        {
            using var vm = MachineBuilder.Create(ChattyEngine.Create()).WithMemory(4UL << 20).WithConsole(PipeWriter.Create(stream)).Build().Vm;
            VmStopReason stop = RunToEnd(vm, TimeSpan.FromMilliseconds(500));
            Assert.That(stop.Kind, Is.EqualTo(VmStopKind.Timeout), stop.Message);
            // The first write's flush is stuck in the stream: its bytes, and nothing else, are dropped.
            Assert.That(vm.Console.BytesDropped, Is.EqualTo(ChattyEngine.ChunkSize));
            Assert.That(vm.Console.BytesWritten, Is.Zero);
            Assert.That(vm.Exits.Total, Is.EqualTo(1), "one ConsoleWrite exit, then the stop");
        }
        finally
        {
            stream.Release();
        }
    }

    [Test]
    public void RequestStopEndsAGuestBlockedOnAPipeNobodyReads()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false));
        using var vm = MachineBuilder.Create(ChattyEngine.Create()).WithMemory(4UL << 20).WithConsole(pipe.Writer).Build().Vm;
        VmStopReason stop = RunToEnd(vm, null, () =>
        {
            // Wait until the pipe is full and the vCPU waits on it, then stop from this thread.
            SpinWait.SpinUntil(() => vm.Console.BytesWritten >= 64 * 1024 - ChattyEngine.ChunkSize, Generous);
            Thread.Sleep(50);
            vm.RequestStop("test stop");
        });
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.StopRequested));
        Assert.That(stop.Message, Is.EqualTo("test stop"));
        // The Pipe completes a cancelled flush: its bytes are in the pipe and count as written.
        long attempts = vm.Exits.ByReason()["Hypercall"];
        Assert.That(vm.Console.BytesWritten + vm.Console.BytesDropped, Is.EqualTo(attempts * ChattyEngine.ChunkSize));
        Assert.That(pipe.Reader.TryRead(out ReadResult buffered), Is.True);
        Assert.That(buffered.Buffer.Length, Is.EqualTo(vm.Console.BytesWritten), "what counts as written is in the pipe");
    }

    [Test]
    public void AWriteThatWaitsForTheReaderAllocatesNothing()
    {
        // A pipe that pauses the writer at every write: each Write below waits for the reader thread.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1, writerScheduler: PipeScheduler.Inline, readerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        var console = new ParaVirt.Core.Console.GuestConsole(pipe.Writer);
        var reader = new Thread(() =>
        {
            while (true)
            {
                ReadResult read = pipe.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
                pipe.Reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                    break;
            }
        }) { IsBackground = true };
        reader.Start();
        byte[] chunk = new byte[64];
        for (int i = 0; i < 200; i++)
            console.Write(chunk); // warm-up: JIT, tiering, the event's lock
        long least = long.MaxValue;
        for (int run = 0; run < 3; run++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
                console.Write(chunk);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        console.Complete();
        Assert.That(reader.Join(Generous), Is.True);
        Assert.That(console.BytesWritten, Is.EqualTo((200 + 3000) * 64L));
        Assert.That(least, Is.Zero, "bytes allocated by 1000 writes that each waited for the reader");
    }

    [Test]
    public void AStoppedConsoleDropsAndTheNextRunWritesAgain()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 30, resumeWriterThreshold: 1 << 29, useSynchronizationContext: false));
        using var vm = MachineBuilder.Create(ChattyEngine.Create()).WithMemory(4UL << 20).WithConsole(pipe.Writer).Build().Vm;
        vm.Console.CancelOutput();
        vm.Console.Write(new byte[10]);
        Assert.That(vm.Console.BytesDropped, Is.EqualTo(10));
        Assert.That(vm.Console.BytesWritten, Is.Zero);
        VmStopReason stop = RunToEnd(vm, null, () =>
        {
            SpinWait.SpinUntil(() => vm.Console.BytesWritten > 0, Generous);
            vm.RequestStop("test stop");
        });
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.StopRequested));
        Assert.That(vm.Console.BytesWritten, Is.GreaterThan(0), "Run resumed the output");
    }
}
