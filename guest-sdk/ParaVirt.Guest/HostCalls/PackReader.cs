using System;

namespace ParaVirt.Guest;

/// <summary>
/// A MessagePack reader over a buffer for the guest runtime: no allocation, no exceptions, no
/// BCL. Each <c>TryRead*</c> either reads one value of its type and moves past it, or returns
/// false and leaves the position where it was (wrong type, value out of range, truncated input).
/// Every length is checked against the bytes that remain before anything is sliced.
/// Strings come back as UTF-8 spans into the buffer (a guest cannot build strings at run time).
/// </summary>
/// <example><code>
/// var reader = new PackReader(response);
/// if (reader.TryReadArrayHeader(out int count) &amp;&amp; count == 2 &amp;&amp; reader.TryReadInt64(out long status))
///     reader.TryReadString(out ReadOnlySpan&lt;byte&gt; utf8);
/// </code></example>
public ref struct PackReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    /// <summary>A reader positioned at the start of <paramref name="buffer"/>.</summary>
    public PackReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes consumed so far.</summary>
    public int Position => _position;

    /// <summary>True when every byte has been read.</summary>
    public bool End => _position >= _buffer.Length;

    /// <summary>True if the next value is nil (not consumed).</summary>
    public bool IsNil => !End && _buffer[_position] == 0xC0;

    /// <summary>Reads nil.</summary>
    public bool TryReadNil()
    {
        if (!IsNil)
            return false;
        _position++;
        return true;
    }

    /// <summary>Reads a boolean.</summary>
    public bool TryReadBool(out bool value)
    {
        value = false;
        if (End)
            return false;
        byte code = _buffer[_position];
        if (code != 0xC2 && code != 0xC3)
            return false;
        value = code == 0xC3;
        _position++;
        return true;
    }

    /// <summary>Reads an integer of any encoding whose value fits a <see cref="long"/>.</summary>
    public bool TryReadInt64(out long value)
    {
        value = 0;
        if (!TryPeekInteger(out ulong bits, out bool negative, out int size))
            return false;
        if (!negative && bits > 0x7FFFFFFFFFFFFFFF)
            return false;
        value = (long)bits;
        _position += size;
        return true;
    }

    /// <summary>Reads an integer of any encoding whose value is not negative.</summary>
    public bool TryReadUInt64(out ulong value)
    {
        value = 0;
        if (!TryPeekInteger(out ulong bits, out bool negative, out int size) || negative)
            return false;
        value = bits;
        _position += size;
        return true;
    }

    /// <summary>Reads an array header: the number of elements that follow.</summary>
    public bool TryReadArrayHeader(out int count)
    {
        count = 0;
        if (End)
            return false;
        byte code = _buffer[_position];
        ulong n;
        int size;
        if (code >= 0x90 && code <= 0x9F)
        {
            n = (uint)(code & 0x0F);
            size = 1;
        }
        else if (code == 0xDC && TryPeekBigEndian(2, out n))
            size = 3;
        else if (code == 0xDD && TryPeekBigEndian(4, out n))
            size = 5;
        else
            return false;
        // Every element takes at least one byte: a count beyond the remaining bytes is a lie.
        if (n > (ulong)(_buffer.Length - _position - size))
            return false;
        count = (int)n;
        _position += size;
        return true;
    }

    /// <summary>Reads a str; <paramref name="utf8"/> is its bytes inside the buffer (not checked to be valid UTF-8).</summary>
    public bool TryReadString(out ReadOnlySpan<byte> utf8)
    {
        utf8 = default;
        if (End)
            return false;
        byte code = _buffer[_position];
        if (code >= 0xA0 && code <= 0xBF)
            return TryTakePayload(1, (uint)(code & 0x1F), out utf8);
        ulong n;
        if (code == 0xD9 && TryPeekBigEndian(1, out n))
            return TryTakePayload(2, n, out utf8);
        if (code == 0xDA && TryPeekBigEndian(2, out n))
            return TryTakePayload(3, n, out utf8);
        if (code == 0xDB && TryPeekBigEndian(4, out n))
            return TryTakePayload(5, n, out utf8);
        return false;
    }

    /// <summary>Reads a bin; <paramref name="bytes"/> is its payload inside the buffer.</summary>
    public bool TryReadBinary(out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (End)
            return false;
        byte code = _buffer[_position];
        ulong n;
        if (code == 0xC4 && TryPeekBigEndian(1, out n))
            return TryTakePayload(2, n, out bytes);
        if (code == 0xC5 && TryPeekBigEndian(2, out n))
            return TryTakePayload(3, n, out bytes);
        if (code == 0xC6 && TryPeekBigEndian(4, out n))
            return TryTakePayload(5, n, out bytes);
        return false;
    }

    /// <summary>Decodes the integer at the position without consuming it: its 64 bits, its sign, its encoded size.</summary>
    private bool TryPeekInteger(out ulong bits, out bool negative, out int size)
    {
        bits = 0;
        negative = false;
        size = 0;
        if (End)
            return false;
        byte code = _buffer[_position];
        if (code <= 0x7F)
        {
            bits = code;
            size = 1;
            return true;
        }
        if (code >= 0xE0)
        {
            bits = (ulong)(long)(sbyte)code;
            negative = true;
            size = 1;
            return true;
        }
        int width;
        bool signed;
        switch (code)
        {
            case 0xCC: width = 1; signed = false; break;
            case 0xCD: width = 2; signed = false; break;
            case 0xCE: width = 4; signed = false; break;
            case 0xCF: width = 8; signed = false; break;
            case 0xD0: width = 1; signed = true; break;
            case 0xD1: width = 2; signed = true; break;
            case 0xD2: width = 4; signed = true; break;
            case 0xD3: width = 8; signed = true; break;
            default: return false;
        }
        if (!TryPeekBigEndian(width, out ulong raw))
            return false;
        if (signed && width < 8)
        {
            int unused = 64 - width * 8;
            raw = (ulong)((long)(raw << unused) >> unused); // sign-extend
        }
        bits = raw;
        negative = signed && (long)raw < 0;
        size = 1 + width;
        return true;
    }

    /// <summary>Reads the <paramref name="width"/>-byte big-endian number after the code byte, if it is all there.</summary>
    private bool TryPeekBigEndian(int width, out ulong value)
    {
        value = 0;
        if (width > _buffer.Length - _position - 1)
            return false;
        for (int i = 1; i <= width; i++)
            value = (value << 8) | _buffer[_position + i];
        return true;
    }

    /// <summary>Takes a header of <paramref name="headerSize"/> bytes and a payload of <paramref name="length"/> bytes, if all there.</summary>
    private bool TryTakePayload(int headerSize, ulong length, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        if (length > (ulong)(_buffer.Length - _position - headerSize))
            return false;
        payload = _buffer.Slice(_position + headerSize, (int)length);
        _position += headerSize + (int)length;
        return true;
    }
}
