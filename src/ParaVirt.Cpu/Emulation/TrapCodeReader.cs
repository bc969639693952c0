using Iced.Intel;

namespace ParaVirt.Cpu.Emulation;

/// <summary>Feeds Iced's decoder the (at most 15) instruction bytes fetched at a trap RIP; reused for every trap.</summary>
internal sealed class TrapCodeReader : CodeReader
{
    /// <summary>The longest x86 instruction.</summary>
    public const int MaxLength = 15;

    private readonly byte[] _bytes = new byte[MaxLength];
    private int _length, _position;

    /// <summary>The buffer the caller fills before <see cref="Reset"/>.</summary>
    public byte[] Buffer => _bytes;

    /// <summary>Starts reading the first <paramref name="length"/> bytes of <see cref="Buffer"/>.</summary>
    public void Reset(int length)
    {
        _length = length;
        _position = 0;
    }

    /// <inheritdoc/>
    public override int ReadByte() => _position < _length ? _bytes[_position++] : -1;
}
