using System;
using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Threading.Tasks;

namespace ParaVirt.Workloads;

/// <summary>
/// Drains a VM's console pipe on another thread: counts every byte, checks the stream against
/// <see cref="WorkloadProtocol.ConsoleByte"/> position by position, and keeps the last 1 KiB for
/// diagnostics. Nothing is allocated per byte or per read.
/// </summary>
/// <example><code>
/// var pipe = new Pipe();
/// var sink = new ConsoleSink();
/// Task drain = sink.DrainAsync(pipe.Reader);
/// // ... the VM writes into pipe.Writer ...
/// pipe.Writer.Complete(); await drain;
/// bool ok = sink.Bytes == 65536 &amp;&amp; sink.MatchingPrefix == 65536;
/// </code></example>
public sealed class ConsoleSink
{
    private const int TailCapacity = 1024;
    private readonly byte[] _tail = new byte[TailCapacity];
    private bool _stillMatching = true;

    /// <summary>Bytes received.</summary>
    public long Bytes { get; private set; }

    /// <summary>How many bytes from the start equal the console workload's stream.</summary>
    public long MatchingPrefix { get; private set; }

    /// <summary>The last bytes received (at most 1 KiB), as text.</summary>
    public string Tail
    {
        get
        {
            int count = (int)Math.Min(Bytes, TailCapacity);
            var ordered = new byte[count];
            for (int i = 0; i < count; i++)
                ordered[i] = _tail[(Bytes - count + i) % TailCapacity];
            return Encoding.ASCII.GetString(ordered);
        }
    }

    /// <summary>Reads <paramref name="reader"/> to its end.</summary>
    public async Task DrainAsync(PipeReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (true)
        {
            ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                Take(segment.Span);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
                break;
        }
        await reader.CompleteAsync().ConfigureAwait(false);
    }

    private void Take(ReadOnlySpan<byte> bytes)
    {
        long position = Bytes;
        for (int i = 0; i < bytes.Length; i++, position++)
        {
            byte b = bytes[i];
            _tail[position % TailCapacity] = b;
            if (_stillMatching)
            {
                if (b == WorkloadProtocol.ConsoleByte(position))
                    MatchingPrefix = position + 1;
                else
                    _stillMatching = false;
            }
        }
        Bytes = position;
    }
}
