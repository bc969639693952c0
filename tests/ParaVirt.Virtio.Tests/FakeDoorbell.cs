using System.Threading;
using ParaVirt.Core.Engine;

namespace ParaVirt.Virtio.Tests;

/// <summary>A doorbell without an engine: the test rings it from its own thread, as the guest's out would.</summary>
internal sealed class FakeDoorbell : Doorbell
{
    private readonly object _gate = new();
    private long _rings;
    private bool _disposed;

    public FakeDoorbell(ushort port) => Port = port;

    public override ushort Port { get; }

    public bool IsDisposed
    {
        get
        {
            lock (_gate)
                return _disposed;
        }
    }

    public override long Wait()
    {
        lock (_gate)
        {
            while (_rings == 0 && !_disposed)
                Monitor.Wait(_gate);
            if (_disposed)
                return 0;
            long rings = _rings;
            _rings = 0;
            return rings;
        }
    }

    public override void Ring()
    {
        lock (_gate)
        {
            _rings++;
            Monitor.PulseAll(_gate);
        }
    }

    public override void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
