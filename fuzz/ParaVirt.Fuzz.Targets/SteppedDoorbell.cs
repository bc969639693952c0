using System;
using System.Threading;
using ParaVirt.Core.Engine;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// A doorbell the harness rings and then waits on until the device thread has finished everything
/// the ring started and is back in <see cref="Wait"/>: the device thread's turns happen one at a
/// time, between the harness's ops, so a fuzz input replays the same way every time and the harness
/// never writes guest memory while the thread reads it.
/// </summary>
/// <example><code>
/// var bell = new SteppedDoorbell(0x600);
/// VirtioAsyncQueue q = transport.AddAsyncQueue(0, 0, bell, channel: 1, raise);
/// bool idle = bell.RingAndWaitUntilIdle(TimeSpan.FromSeconds(10), () =&gt; q.IsRunning);
/// </code></example>
public sealed class SteppedDoorbell : Doorbell
{
    private readonly object _gate = new();
    private long _rings;
    private bool _idle;     // the device thread is blocked in Wait with no ring pending
    private bool _disposed;

    /// <summary>A doorbell on <paramref name="port"/> (a label only: nothing is attached to a port).</summary>
    public SteppedDoorbell(ushort port) => Port = port;

    /// <inheritdoc/>
    public override ushort Port { get; }

    /// <inheritdoc/>
    public override long Wait()
    {
        lock (_gate)
        {
            while (_rings == 0 && !_disposed)
            {
                _idle = true;
                Monitor.PulseAll(_gate);
                Monitor.Wait(_gate);
            }
            _idle = false;
            if (_disposed)
                return 0;
            long rings = _rings;
            _rings = 0;
            return rings;
        }
    }

    /// <inheritdoc/>
    public override void Ring()
    {
        lock (_gate)
        {
            _rings++;
            _idle = false;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Rings, then waits until the waiting thread is back in <see cref="Wait"/> with nothing
    /// pending. False when <paramref name="alive"/> says the thread ended, or after
    /// <paramref name="limit"/> (a turn that does not end: unbounded work).
    /// </summary>
    public bool RingAndWaitUntilIdle(TimeSpan limit, Func<bool> alive)
    {
        ArgumentNullException.ThrowIfNull(alive);
        long deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        lock (_gate)
        {
            _rings++;
            _idle = false;
            Monitor.PulseAll(_gate);
            while (!_idle && !_disposed)
            {
                if (!alive() || Environment.TickCount64 > deadline)
                    return false;
                Monitor.Wait(_gate, 20);
            }
            return !_disposed;
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
