namespace ParaVirt.Core.Memory;

/// <summary>
/// A hold on a <see cref="GuestMemory"/>'s host mapping: while a lease is held the memory is not
/// unmapped, so pointers and spans obtained from it stay valid. A ref struct: taking one allocates
/// nothing, and it cannot outlive the stack frame that took it.
/// </summary>
/// <example>
/// A device thread's ring pass:
/// <code>
/// using GuestMemoryLease lease = memory.Lease();
/// if (!lease.IsHeld)
///     return;                                   // the memory is closed: the VM is going away
/// if (memory.TryGetSpan(address, length, out Span&lt;byte&gt; bytes))
///     bytes.CopyTo(buffer);                     // safe: Dispose waits for this lease
/// </code>
/// </example>
public ref struct GuestMemoryLease
{
    private GuestMemory? _memory;

    internal GuestMemoryLease(GuestMemory memory) => _memory = memory;

    /// <summary>Whether the lease was granted. False once the memory is closed (disposed or being disposed).</summary>
    public readonly bool IsHeld => _memory is not null;

    /// <summary>Gives the lease back (once; later calls do nothing).</summary>
    public void Dispose()
    {
        GuestMemory? memory = _memory;
        _memory = null;
        memory?.Release();
    }
}
