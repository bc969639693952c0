using System.Buffers.Binary;
using ParaVirt.Core.Bus;

namespace ParaVirt.Devices.Emulated.Tests;

/// <summary>The guest's view of a port bus: in/out of 8, 16 and 32 bits, and string I/O delivered as one exit.</summary>
internal sealed class PortIo(IoBus bus)
{
    public IoBus Bus { get; } = bus;

    public void Out8(ushort port, byte value) => Bus.Write(port, [value]);

    public void Out16(ushort port, ushort value)
    {
        Span<byte> data = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(data, value);
        Bus.Write(port, data);
    }

    public void Out32(ushort port, uint value)
    {
        Span<byte> data = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, value);
        Bus.Write(port, data);
    }

    public byte In8(ushort port)
    {
        Span<byte> data = stackalloc byte[1];
        Bus.Read(port, data);
        return data[0];
    }

    public ushort In16(ushort port)
    {
        Span<byte> data = stackalloc byte[2];
        Bus.Read(port, data);
        return BinaryPrimitives.ReadUInt16LittleEndian(data);
    }

    public uint In32(ushort port)
    {
        Span<byte> data = stackalloc byte[4];
        Bus.Read(port, data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    /// <summary><c>rep insw</c>: KVM hands over one exit with a count; the VM's dispatcher calls the bus once per element.</summary>
    public void RepInsw(ushort port, Span<byte> destination)
    {
        for (int offset = 0; offset < destination.Length; offset += 2)
            Bus.Read(port, destination.Slice(offset, 2));
    }

    /// <summary><c>rep outsw</c>, delivered the same way.</summary>
    public void RepOutsw(ushort port, ReadOnlySpan<byte> source)
    {
        for (int offset = 0; offset < source.Length; offset += 2)
            Bus.Write(port, source.Slice(offset, 2));
    }
}
