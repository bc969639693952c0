using System;
using System.Buffers;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;

namespace ParaVirt.Core.Console;

/// <summary>
/// The host end of a VM's console: guest output goes into a <see cref="PipeWriter"/> that the CLI
/// or a test reads. Every console device (the ConsoleWrite hypercall, the UART, virtio-console)
/// writes here, so full and para guests produce the same stream.
/// </summary>
/// <remarks>
/// Backpressure: when the reader falls behind past the pipe's pause threshold, the vCPU thread
/// waits, as a guest waits on a full UART. When the reader has completed, output is dropped and
/// counted. Without a writer, output is counted and dropped.
/// </remarks>
public sealed class GuestConsole
{
    private readonly PipeWriter? _output;
    private readonly PipeReader? _input;
    private long _written, _dropped;
    private bool _readerGone;

    /// <summary>Creates a console writing to <paramref name="output"/> (or nowhere) and reading guest input from <paramref name="input"/> (or nothing).</summary>
    public GuestConsole(PipeWriter? output, PipeReader? input = null)
    {
        _output = output;
        _input = input;
    }

    /// <summary>
    /// Takes up to <c>destination.Length</c> bytes of pending host-to-guest input without waiting.
    /// Returns the count (0 when nothing is pending). Called on the vCPU thread.
    /// </summary>
    public int ReadInput(Span<byte> destination)
    {
        if (_input is null || destination.IsEmpty || !_input.TryRead(out ReadResult result))
            return 0;
        ReadOnlySequence<byte> buffer = result.Buffer;
        int count = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, count).CopyTo(destination);
        _input.AdvanceTo(buffer.GetPosition(count));
        return count;
    }

    /// <summary>Bytes the guest wrote that reached the output.</summary>
    public long BytesWritten => Interlocked.Read(ref _written);

    /// <summary>Bytes dropped (no output, or the reader has gone).</summary>
    public long BytesDropped => Interlocked.Read(ref _dropped);

    /// <summary>Writes guest bytes. Called on the vCPU thread.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (_output is null || _readerGone)
        {
            Interlocked.Add(ref _dropped, bytes.Length);
            return;
        }
        _output.Write(bytes);
        ValueTask<FlushResult> flush = _output.FlushAsync();
        FlushResult result = flush.IsCompletedSuccessfully ? flush.Result : flush.AsTask().GetAwaiter().GetResult();
        if (result.IsCompleted)
            _readerGone = true;
        Interlocked.Add(ref _written, bytes.Length);
    }

    /// <summary>Writes one byte (UART transmit holding register, virtio-console byte mode).</summary>
    public void WriteByte(byte value) => Write(new ReadOnlySpan<byte>(in value));

    /// <summary>Tells the reader no more output will come.</summary>
    public void Complete() => _output?.Complete();
}
