using System;
using System.Runtime.InteropServices;
using System.Threading;
using ParaVirt.Core.Engine;
using ParaVirt.Kvm.Interop;

namespace ParaVirt.Kvm;

/// <summary>
/// A doorbell on KVM: an eventfd registered with KVM_IOEVENTFD for one-byte writes to a port, so
/// the guest's <c>out</c> is completed inside the kernel and only signals the eventfd. The eventfd
/// counter coalesces rings; <see cref="Wait"/> reads and resets it.
/// </summary>
/// <remarks>
/// Descriptor lifetime invariant: every use of the eventfd (<see cref="Wait"/>, <see cref="Ring"/>)
/// happens between <see cref="TryEnter"/> and <see cref="Exit"/>, and the descriptor is closed only
/// when no use is in progress: <see cref="Close"/> refuses new uses, wakes the waiter, waits (bounded)
/// for the uses to leave, and if they do not, leaves the close to the last <see cref="Exit"/>. So no
/// thread ever reads or writes a closed descriptor number that the process may have reused.
/// </remarks>
internal sealed unsafe class KvmDoorbell : Doorbell
{
    // _users: bit 31 closing (no new use), bit 30 close deferred to the last use, bits 0-29 uses in progress.
    private const int ClosingBit = int.MinValue, DeferredBit = 1 << 30, CountMask = DeferredBit - 1;

    private readonly int _vmFd;
    private int _eventFd;
    private int _disposed;
    private int _users;

    public KvmDoorbell(int vmFd, ushort port)
    {
        _vmFd = vmFd;
        Port = port;
        _eventFd = KvmException.Check(LibC.EventFd(0, LibC.EFD_CLOEXEC), "eventfd");
        KvmIoeventfd request = Request(0);
        if (LibC.Ioctl(vmFd, KvmIoctl.Ioeventfd, &request) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(_eventFd);
            throw new KvmException($"KVM_IOEVENTFD (port 0x{port:x})", errno);
        }
    }

    public override ushort Port { get; }

    /// <summary>The eventfd's number, or -1 once closed (for tests).</summary>
    internal int EventFd => Volatile.Read(ref _eventFd);

    /// <summary>Threads inside <see cref="Wait"/> or <see cref="Ring"/> right now (for tests).</summary>
    internal int Uses => Volatile.Read(ref _users) & CountMask;

    /// <summary>Whether the eventfd has been closed.</summary>
    internal bool IsClosed => Volatile.Read(ref _eventFd) < 0;

    private KvmIoeventfd Request(uint extraFlags) => new() { Addr = Port, Len = 1, Fd = _eventFd, Flags = KvmIoctl.IoeventfdFlagPio | extraFlags };

    public override long Wait()
    {
        if (!TryEnter())
            return 0;
        try
        {
            ulong count;
            while (true)
            {
                if (Volatile.Read(ref _disposed) != 0)
                    return 0;
                nint n = LibC.Read(_eventFd, &count, 8);
                if (n == 8)
                {
                    if (Volatile.Read(ref _disposed) == 0)
                        return (long)count;
                    WriteOne(); // pass the dispose wake on to another waiter, if any
                    return 0;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != LibC.EINTR && errno != LibC.EAGAIN)
                    return 0;
            }
        }
        finally
        {
            Exit();
        }
    }

    public override void Ring()
    {
        if (!TryEnter())
            return;
        WriteOne();
        Exit();
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        KvmIoeventfd request = Request(KvmIoctl.IoeventfdFlagDeassign);
        _ = LibC.Ioctl(_vmFd, KvmIoctl.Ioeventfd, &request);
        // Wake a waiter; it sees the disposed flag and returns 0. The descriptor stays open: Close
        // closes it once no thread is inside Wait or Ring.
        Ring();
    }

    /// <summary>
    /// Disposes the doorbell (a waiter returns 0), then closes the eventfd once no thread uses it:
    /// waits up to <paramref name="timeout"/>, after which the last thread to leave closes it.
    /// Called by the VM on dispose. Returns whether the eventfd is closed on return.
    /// </summary>
    internal bool Close(TimeSpan timeout)
    {
        Dispose();
        if ((Interlocked.Or(ref _users, ClosingBit) & ClosingBit) != 0)
            return IsClosed;
        // Full barrier (interlocked) above: a thread that enters after it sees ClosingBit and leaves
        // without touching the descriptor; one that entered before it is counted and is waited for.
        if (!SpinWait.SpinUntil(() => (Volatile.Read(ref _users) & CountMask) == 0, timeout))
        {
            Interlocked.Or(ref _users, DeferredBit);
            if ((Volatile.Read(ref _users) & CountMask) != 0)
                return false; // the last Exit closes it
        }
        CloseDescriptor();
        return true;
    }

    /// <summary>Starts a use of the eventfd; false once the doorbell is closing.</summary>
    internal bool TryEnter()
    {
        if (Volatile.Read(ref _users) < 0)
            return false;
        if (Interlocked.Increment(ref _users) < 0)
        {
            Exit();
            return false;
        }
        return true;
    }

    /// <summary>Ends a use started by a successful <see cref="TryEnter"/>.</summary>
    internal void Exit()
    {
        int state = Interlocked.Decrement(ref _users);
        if ((state & (DeferredBit | CountMask)) == DeferredBit)
            CloseDescriptor(); // the last use after Close gave up waiting
    }

    private void WriteOne()
    {
        ulong one = 1;
        _ = LibC.Write(_eventFd, &one, 8);
    }

    private void CloseDescriptor()
    {
        int fd = Interlocked.Exchange(ref _eventFd, -1);
        if (fd >= 0)
            LibC.Close(fd);
    }
}
