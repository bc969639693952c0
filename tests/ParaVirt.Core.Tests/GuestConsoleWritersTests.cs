using System.Buffers;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;
using ParaVirt.Core.Console;

namespace ParaVirt.Core.Tests;

/// <summary>
/// Two threads write to one <see cref="GuestConsole"/>, as the vCPU thread (the ConsoleWrite
/// hypercall) and virtio-console's device thread on the asynchronous transport do: every write
/// arrives whole, none is lost, and nothing throws.
/// </summary>
public class GuestConsoleWritersTests
{
    private const int Chunk = 64;
    private const int WritesPerThread = 20_000;

    [Test]
    public void Writes_from_two_threads_arrive_whole_and_all_of_them()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 16, resumeWriterThreshold: 1 << 15, useSynchronizationContext: false));
        var console = new GuestConsole(pipe.Writer);
        long received = 0, torn = 0;
        Task reader = Task.Run(async () =>
        {
            byte[] chunk = new byte[Chunk];
            while (true)
            {
                ReadResult read = await pipe.Reader.ReadAsync();
                ReadOnlySequence<byte> buffer = read.Buffer;
                // Each write is 64 bytes of one letter: a chunk that mixes letters is a torn write.
                while (buffer.Length >= Chunk)
                {
                    buffer.Slice(0, Chunk).CopyTo(chunk);
                    if (Array.Exists(chunk, b => b != chunk[0]))
                        torn++;
                    received++;
                    buffer = buffer.Slice(Chunk);
                }
                pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                    break;
            }
        });
        var failures = new List<Exception>();
        Thread Writer(byte letter) => new(() =>
        {
            byte[] bytes = Enumerable.Repeat(letter, Chunk).ToArray();
            try
            {
                for (int i = 0; i < WritesPerThread; i++)
                    console.Write(bytes);
            }
            catch (Exception ex)
            {
                lock (failures)
                    failures.Add(ex);
            }
        });
        Thread vcpu = Writer((byte)'V'), device = Writer((byte)'D');
        vcpu.Start();
        device.Start();
        Assert.That(vcpu.Join(TimeSpan.FromSeconds(60)) && device.Join(TimeSpan.FromSeconds(60)), Is.True, "a writer hung");
        console.Complete();
        Assert.That(reader.Wait(TimeSpan.FromSeconds(60)), Is.True);

        Assert.That(failures, Is.Empty);
        Assert.That(torn, Is.Zero, "writes interleaved inside one another");
        Assert.That(received, Is.EqualTo(2L * WritesPerThread));
        Assert.That(console.BytesWritten, Is.EqualTo(2L * WritesPerThread * Chunk));
        Assert.That(console.BytesDropped, Is.Zero);
    }
}
