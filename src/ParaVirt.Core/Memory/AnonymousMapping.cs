using System;
using System.Runtime.InteropServices;

namespace ParaVirt.Core.Memory;

/// <summary>
/// A private anonymous memory mapping (<c>mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)</c>):
/// page aligned, zero filled, committed lazily, and never on the GC heap. Guest RAM lives here.
/// </summary>
internal sealed unsafe partial class AnonymousMapping : IDisposable
{
    private const int ProtRead = 0x1, ProtWrite = 0x2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;

    private byte* _address;

    public AnonymousMapping(ulong size)
    {
        if (size == 0 || size % 4096 != 0)
            throw new ArgumentOutOfRangeException(nameof(size), size, "size must be a non-zero multiple of 4096");
        nint result = Mmap(0, (nuint)size, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
        if (result == -1)
            throw new OutOfMemoryException($"mmap of {size} bytes failed: errno {Marshal.GetLastPInvokeError()}");
        _address = (byte*)result;
        Size = size;
    }

    /// <summary>The first byte of the mapping, or null once disposed.</summary>
    public byte* Address => _address;

    /// <summary>The size in bytes.</summary>
    public ulong Size { get; }

    public void Dispose()
    {
        byte* address = _address;
        if (address == null)
            return;
        _address = null;
        _ = Munmap((nint)address, (nuint)Size);
        GC.SuppressFinalize(this);
    }

    ~AnonymousMapping() => Dispose();

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint addr, nuint length);
}
