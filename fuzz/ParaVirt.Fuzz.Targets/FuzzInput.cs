using System;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// Reads a fuzz input as a stream of little-endian fields; past the end every field reads as 0,
/// so any byte string is a valid program (the fuzzer never wastes inputs on framing).
/// </summary>
public ref struct FuzzInput
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    /// <summary>Reads <paramref name="data"/> from its start.</summary>
    public FuzzInput(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>Whether every byte has been read.</summary>
    public readonly bool End => _position >= _data.Length;

    /// <summary>Bytes not yet read.</summary>
    public readonly int Remaining => Math.Max(0, _data.Length - _position);

    /// <summary>The next byte, or 0.</summary>
    public byte U8() => _position < _data.Length ? _data[_position++] : (byte)0;

    /// <summary>The next 2 bytes, or 0 past the end.</summary>
    public ushort U16() => (ushort)Little(2);

    /// <summary>The next 4 bytes, or 0 past the end.</summary>
    public uint U32() => (uint)Little(4);

    /// <summary>The next 8 bytes, or 0 past the end.</summary>
    public ulong U64() => Little(8);

    /// <summary>Up to <paramref name="count"/> next bytes (fewer at the end).</summary>
    public ReadOnlySpan<byte> Bytes(int count)
    {
        int n = Math.Min(count, Remaining);
        ReadOnlySpan<byte> bytes = _data.Slice(_position, n);
        _position += n;
        return bytes;
    }

    /// <summary>Every byte not yet read.</summary>
    public ReadOnlySpan<byte> Rest() => Bytes(Remaining);

    private ulong Little(int count)
    {
        ulong value = 0;
        for (int i = 0; i < count; i++)
            value |= (ulong)U8() << (8 * i);
        return value;
    }
}
