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
/// waits, as a guest waits on a full UART. That wait ends when the flush completes or when
/// <see cref="CancelOutput"/> is called (<see cref="Machine.VirtualMachine.Stop"/> calls it, so the
/// watchdog and a host stop end a guest blocked on its console). Output is dropped and counted in
/// <see cref="BytesDropped"/> when there is no writer, when the reader has completed, while output
/// is cancelled, and while a flush abandoned by a cancellation is still pending; the bytes of the
/// write whose flush was abandoned count as dropped too. The write path allocates nothing per
/// write: the wait uses one reusable event and one cached continuation.
/// <para>Threads: writes come from the vCPU thread (the ConsoleWrite hypercall, the UART,
/// virtio-console on the synchronous transport) and from a device thread (virtio-console's
/// transmit queue on the asynchronous transport). A lock makes each write whole and in order: a
/// <see cref="PipeWriter"/> takes one writer at a time. A writer waiting for the reader holds it;
/// <see cref="CancelOutput"/> ends that wait without it.</para>
/// </remarks>
public sealed class GuestConsole
{
    private readonly PipeWriter? _output;
    private readonly PipeReader? _input;
    private readonly ManualResetEventSlim _flushed = new(false);
    private readonly Action _onFlushed;
    private readonly Lock _writeGate = new();
    private long _written, _dropped;
    private bool _readerGone;
    private int _cancelled;
    // A flush the vCPU stopped waiting for (cancelled): later writes are dropped until it completes.
    private ValueTask<FlushResult> _abandoned;
    private bool _hasAbandoned;

    /// <summary>Creates a console writing to <paramref name="output"/> (or nowhere) and reading guest input from <paramref name="input"/> (or nothing).</summary>
    public GuestConsole(PipeWriter? output, PipeReader? input = null)
    {
        _output = output;
        _input = input;
        _onFlushed = _flushed.Set;
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

    /// <summary>Bytes the guest wrote that the output accepted (its flush completed).</summary>
    public long BytesWritten => Interlocked.Read(ref _written);

    /// <summary>
    /// Bytes dropped: no output, the reader has gone, output was cancelled by a stop, or the bytes'
    /// flush was abandoned when the stop came.
    /// </summary>
    public long BytesDropped => Interlocked.Read(ref _dropped);

    /// <summary>True after <see cref="CancelOutput"/> until <see cref="ResumeOutput"/>.</summary>
    public bool IsOutputCancelled => Volatile.Read(ref _cancelled) != 0;

    /// <summary>
    /// Ends a wait on the output from any thread: a write blocked on a full pipe returns (its bytes
    /// count as dropped unless the flush completes), and writes until <see cref="ResumeOutput"/>
    /// are dropped and counted. <see cref="Machine.VirtualMachine.Stop"/> calls this.
    /// </summary>
    public void CancelOutput()
    {
        Volatile.Write(ref _cancelled, 1);
        _flushed.Set();
    }

    /// <summary>Accepts output again (a new run starts). Called on the thread that will run the vCPU.</summary>
    public void ResumeOutput() => Volatile.Write(ref _cancelled, 0);

    /// <summary>Writes guest bytes, whole and in order with other writers (the vCPU thread, a device thread).</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        using Lock.Scope scope = _writeGate.EnterScope();
        if (_output is null || _readerGone || Volatile.Read(ref _cancelled) != 0 || !TryRetireAbandoned())
        {
            Drop(bytes.Length);
            return;
        }
        _output.Write(bytes);
        ValueTask<FlushResult> flush = _output.FlushAsync();
        if (!flush.IsCompleted && !WaitForFlush(flush))
        {
            _abandoned = flush;
            _hasAbandoned = true;
            Drop(bytes.Length);
            return;
        }
        Complete(flush, bytes.Length);
    }

    /// <summary>Writes one byte (UART transmit holding register, virtio-console byte mode).</summary>
    public void WriteByte(byte value) => Write(new ReadOnlySpan<byte>(in value));

    /// <summary>Tells the reader no more output will come.</summary>
    public void Complete() => _output?.Complete();

    /// <summary>
    /// Waits until <paramref name="flush"/> completes or output is cancelled. Returns true when the
    /// flush completed. Allocation-free: a cached continuation sets a reusable event.
    /// </summary>
    private bool WaitForFlush(ValueTask<FlushResult> flush)
    {
        // Invariant: each Reset happens before the checks, and both wakers (the flush's
        // continuation, CancelOutput) make their condition true before they set the event, so no
        // wake-up is lost. A late continuation of an earlier, abandoned flush may set the event
        // spuriously: the loop then checks again and waits on.
        _flushed.Reset();
        flush.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onFlushed);
        while (!flush.IsCompleted && Volatile.Read(ref _cancelled) == 0)
        {
            _flushed.Wait();
            _flushed.Reset();
        }
        if (flush.IsCompleted)
            return true;
        // Cancelled: ask the writer to give up too (a Pipe completes the flush as cancelled; the
        // bytes then stay in the pipe and count as written). A writer stuck in its stream does not.
        _output!.CancelPendingFlush();
        return flush.IsCompleted;
    }

    /// <summary>True when no abandoned flush is pending (it is consumed once it completes).</summary>
    private bool TryRetireAbandoned()
    {
        if (!_hasAbandoned)
            return true;
        if (!_abandoned.IsCompleted)
            return false;
        _hasAbandoned = false;
        ValueTask<FlushResult> done = _abandoned;
        _abandoned = default;
        Observe(done);
        return !_readerGone;
    }

    private void Complete(ValueTask<FlushResult> flush, int length)
    {
        if (Observe(flush))
            Interlocked.Add(ref _written, length);
        else
            Drop(length);
    }

    /// <summary>Consumes a completed flush; false if it failed (the writer's stream threw).</summary>
    private bool Observe(ValueTask<FlushResult> flush)
    {
        try
        {
            if (flush.Result.IsCompleted)
                _readerGone = true;
            return true;
        }
        catch (Exception)
        {
            // A faulted output (its stream failed) is a reader that has gone: the guest is not stopped for it.
            _readerGone = true;
            return false;
        }
    }

    private void Drop(int length) => Interlocked.Add(ref _dropped, length);
}
