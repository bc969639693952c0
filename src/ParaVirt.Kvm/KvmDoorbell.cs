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
internal sealed unsafe class KvmDoorbell : Doorbell
{
    private const uint FlagPio = 1 << 1, FlagDeassign = 1 << 2;

    private readonly int _vmFd;
    private int _eventFd;
    private int _disposed;

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

    private KvmIoeventfd Request(uint extraFlags) => new() { Addr = Port, Len = 1, Fd = _eventFd, Flags = FlagPio | extraFlags };

    public override long Wait()
    {
        ulong count;
        while (true)
        {
            if (Volatile.Read(ref _disposed) != 0)
                return 0;
            nint n = LibC.Read(_eventFd, &count, 8);
            if (n == 8)
                return Volatile.Read(ref _disposed) != 0 ? 0 : (long)count;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != LibC.EINTR && errno != LibC.EAGAIN)
                return 0;
        }
    }

    public override void Ring()
    {
        ulong one = 1;
        _ = LibC.Write(_eventFd, &one, 8);
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        KvmIoeventfd request = Request(FlagDeassign);
        _ = LibC.Ioctl(_vmFd, KvmIoctl.Ioeventfd, &request);
        // Wake a waiter; it sees the disposed flag and returns 0. The descriptor is closed only when
        // the VM goes, so a waiter's read never races with a reused descriptor number.
        Ring();
    }

    /// <summary>Closes the eventfd; called by the VM on dispose, after every device thread stopped.</summary>
    internal void Close()
    {
        int fd = Interlocked.Exchange(ref _eventFd, -1);
        if (fd >= 0)
            LibC.Close(fd);
    }
}
