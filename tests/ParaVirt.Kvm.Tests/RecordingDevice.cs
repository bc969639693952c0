using ParaVirt.Core.Bus;

namespace ParaVirt.Kvm.Tests;

/// <summary>A test device that records each access and answers reads with a fixed pattern.</summary>
internal sealed class RecordingDevice(string name = "recorder") : IBusDevice
{
    public List<(bool Write, ulong Offset, int Size, ulong Value)> Accesses { get; } = [];

    public ulong ReadValue { get; set; } = 0x8877665544332211;

    public bool ThrowOnAccess { get; set; }

    public string Name => name;

    public void Read(ulong offset, Span<byte> data)
    {
        if (ThrowOnAccess)
            throw new InvalidOperationException("device exploded");
        BitConverter.TryWriteBytes(stackalloc byte[8], ReadValue);
        Span<byte> value = stackalloc byte[8];
        BitConverter.TryWriteBytes(value, ReadValue);
        value[..data.Length].CopyTo(data);
        Accesses.Add((false, offset, data.Length, 0));
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (ThrowOnAccess)
            throw new InvalidOperationException("device exploded");
        Span<byte> value = stackalloc byte[8];
        value.Clear();
        data.CopyTo(value);
        Accesses.Add((true, offset, data.Length, BitConverter.ToUInt64(value)));
    }
}
