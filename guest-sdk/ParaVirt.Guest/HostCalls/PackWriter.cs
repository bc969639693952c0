using System;

namespace ParaVirt.Guest;

/// <summary>
/// A MessagePack writer over a caller's buffer for the guest runtime: no allocation, no
/// exceptions, no BCL. Writes the smallest encoding of each value (nil, bool, integers, str, bin,
/// array headers). When a value does not fit, nothing of it is written and
/// <see cref="Overflowed"/> becomes true; later writes are ignored.
/// </summary>
/// <example><code>
/// Span&lt;byte&gt; buffer = stackalloc byte[64];
/// var writer = new PackWriter(buffer);
/// writer.WriteArrayHeader(2);
/// writer.WriteString("add");
/// writer.WriteInt64(-1);
/// if (writer.Overflowed) { /* buffer too small */ }
/// ReadOnlySpan&lt;byte&gt; encoded = writer.Written;
/// </code></example>
public ref struct PackWriter
{
    private readonly Span<byte> _buffer;
    private int _position;
    private bool _overflowed;

    /// <summary>A writer that fills <paramref name="buffer"/> from its start.</summary>
    public PackWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
        _overflowed = false;
    }

    /// <summary>Bytes written so far.</summary>
    public int Length => _position;

    /// <summary>True once a value did not fit: the output is incomplete.</summary>
    public bool Overflowed => _overflowed;

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.Slice(0, _position);

    /// <summary>Writes nil.</summary>
    public void WriteNil() => WriteByte(0xC0);

    /// <summary>Writes a boolean.</summary>
    public void WriteBool(bool value) => WriteByte(value ? (byte)0xC3 : (byte)0xC2);

    /// <summary>Writes a signed integer in its smallest encoding.</summary>
    public void WriteInt64(long value)
    {
        if (value >= 0)
            WriteUInt64((ulong)value);
        else if (value >= -32)
            WriteByte((byte)(sbyte)value);                     // negative fixint
        else if (value >= -128)
            WriteHeader(0xD0, (ulong)value, 1);
        else if (value >= -32768)
            WriteHeader(0xD1, (ulong)value, 2);
        else if (value >= -2147483648L)
            WriteHeader(0xD2, (ulong)value, 4);
        else
            WriteHeader(0xD3, (ulong)value, 8);
    }

    /// <summary>Writes an unsigned integer in its smallest encoding.</summary>
    public void WriteUInt64(ulong value)
    {
        if (value <= 0x7F)
            WriteByte((byte)value);                            // positive fixint
        else if (value <= 0xFF)
            WriteHeader(0xCC, value, 1);
        else if (value <= 0xFFFF)
            WriteHeader(0xCD, value, 2);
        else if (value <= 0xFFFFFFFF)
            WriteHeader(0xCE, value, 4);
        else
            WriteHeader(0xCF, value, 8);
    }

    /// <summary>Writes an array header for <paramref name="count"/> elements (negative counts are written as 0).</summary>
    public void WriteArrayHeader(int count)
    {
        uint n = count < 0 ? 0 : (uint)count;
        if (n <= 15)
            WriteByte((byte)(0x90 | n));
        else if (n <= 0xFFFF)
            WriteHeader(0xDC, n, 2);
        else
            WriteHeader(0xDD, n, 4);
    }

    /// <summary>Writes <paramref name="text"/> as a UTF-8 str (a lone surrogate becomes U+FFFD); null is nil.</summary>
    public void WriteString(string text)
    {
        if (text is null)
        {
            WriteNil();
            return;
        }
        int length = Utf8Length(text);
        if (!Reserve(StrHeaderSize(length) + length))
            return;
        WriteStrHeader(length);
        for (int i = 0; i < text.Length; i++)
        {
            uint c = text[i];
            if (c < 0x80)
            {
                _buffer[_position++] = (byte)c;
                continue;
            }
            if (c < 0x800)
            {
                _buffer[_position++] = (byte)(0xC0 | (c >> 6));
                _buffer[_position++] = (byte)(0x80 | (c & 0x3F));
                continue;
            }
            if (c >= 0xD800 && c <= 0xDBFF && i + 1 < text.Length && text[i + 1] >= 0xDC00 && text[i + 1] <= 0xDFFF)
            {
                uint scalar = 0x10000 + ((c - 0xD800) << 10) + ((uint)text[i + 1] - 0xDC00);
                i++;
                _buffer[_position++] = (byte)(0xF0 | (scalar >> 18));
                _buffer[_position++] = (byte)(0x80 | ((scalar >> 12) & 0x3F));
                _buffer[_position++] = (byte)(0x80 | ((scalar >> 6) & 0x3F));
                _buffer[_position++] = (byte)(0x80 | (scalar & 0x3F));
                continue;
            }
            if (c >= 0xD800 && c <= 0xDFFF)
                c = 0xFFFD; // a lone surrogate
            _buffer[_position++] = (byte)(0xE0 | (c >> 12));
            _buffer[_position++] = (byte)(0x80 | ((c >> 6) & 0x3F));
            _buffer[_position++] = (byte)(0x80 | (c & 0x3F));
        }
    }

    /// <summary>Writes bytes that already are UTF-8 (for instance a <c>"..."u8</c> literal) as a str.</summary>
    public void WriteStringUtf8(ReadOnlySpan<byte> utf8)
    {
        if (!Reserve(StrHeaderSize(utf8.Length) + utf8.Length))
            return;
        WriteStrHeader(utf8.Length);
        WriteRaw(utf8);
    }

    /// <summary>Writes <paramref name="bytes"/> as a bin.</summary>
    public void WriteBinary(ReadOnlySpan<byte> bytes)
    {
        int n = bytes.Length;
        int header = n <= 0xFF ? 2 : n <= 0xFFFF ? 3 : 5;
        if (!Reserve(header + n))
            return;
        if (n <= 0xFF)
            PutHeader(0xC4, (ulong)n, 1);
        else if (n <= 0xFFFF)
            PutHeader(0xC5, (ulong)n, 2);
        else
            PutHeader(0xC6, (ulong)n, 4);
        WriteRaw(bytes);
    }

    /// <summary>The UTF-8 length of <paramref name="text"/> as <see cref="WriteString"/> encodes it.</summary>
    public static int Utf8Length(string text)
    {
        int length = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x80)
                length += 1;
            else if (c < 0x800)
                length += 2;
            else if (c >= 0xD800 && c <= 0xDBFF && i + 1 < text.Length && text[i + 1] >= 0xDC00 && text[i + 1] <= 0xDFFF)
            {
                length += 4;
                i++;
            }
            else
                length += 3;
        }
        return length;
    }

    private static int StrHeaderSize(int length) => length <= 31 ? 1 : length <= 0xFF ? 2 : length <= 0xFFFF ? 3 : 5;

    private void WriteStrHeader(int length)
    {
        if (length <= 31)
            _buffer[_position++] = (byte)(0xA0 | length);
        else if (length <= 0xFF)
            PutHeader(0xD9, (ulong)length, 1);
        else if (length <= 0xFFFF)
            PutHeader(0xDA, (ulong)length, 2);
        else
            PutHeader(0xDB, (ulong)length, 4);
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
            _buffer[_position++] = bytes[i];
    }

    private void WriteByte(byte value)
    {
        if (Reserve(1))
            _buffer[_position++] = value;
    }

    private void WriteHeader(byte code, ulong value, int size)
    {
        if (Reserve(1 + size))
            PutHeader(code, value, size);
    }

    /// <summary>Writes a code and the low <paramref name="size"/> bytes of <paramref name="value"/>, big-endian; space already reserved.</summary>
    private void PutHeader(byte code, ulong value, int size)
    {
        _buffer[_position++] = code;
        for (int shift = (size - 1) * 8; shift >= 0; shift -= 8)
            _buffer[_position++] = (byte)(value >> shift);
    }

    /// <summary>True if <paramref name="count"/> more bytes fit; otherwise marks the writer overflowed.</summary>
    private bool Reserve(int count)
    {
        if (_overflowed || count < 0 || count > _buffer.Length - _position)
        {
            _overflowed = true;
            return false;
        }
        return true;
    }
}
