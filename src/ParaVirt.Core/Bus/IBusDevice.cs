using System;

namespace ParaVirt.Core.Bus;

/// <summary>
/// A device on a port-I/O or MMIO bus (as rust-vmm's <c>BusDevice</c>). Called on the vCPU thread
/// for each access inside the range the device claimed. Implementations must not allocate per
/// access; an exception stops the VM with the device named, it never crashes the host.
/// </summary>
public interface IBusDevice
{
    /// <summary>A short name for statistics and stop reasons.</summary>
    string Name { get; }

    /// <summary>Handles a read of <c>data.Length</c> bytes at <paramref name="offset"/> from the claimed base; fill <paramref name="data"/>.</summary>
    void Read(ulong offset, Span<byte> data);

    /// <summary>Handles a write of <paramref name="data"/> at <paramref name="offset"/> from the claimed base.</summary>
    void Write(ulong offset, ReadOnlySpan<byte> data);
}
