using System;
using ParaVirt.Abi;

namespace ParaVirt.Guest;

/// <summary>
/// Console output through the <see cref="Hypercall.ConsoleWrite"/> hypercall. Text is gathered in
/// a line buffer and sent once per line (or when the buffer fills), so a line costs one exit.
/// Non-ASCII characters print as '?'.
/// </summary>
/// <example><code>
/// Console.Write("checksum = ");
/// Console.WriteHex(0xDEADBEEF);
/// Console.WriteLine();
/// Console.WriteDecimal(-42); // "-42"
/// </code></example>
public static unsafe class Console
{
    private const int Capacity = 128;
    private static LineBuffer s_line;

    private struct LineBuffer
    {
        public fixed byte Bytes[Capacity];
        public int Length;
    }

    /// <summary>Writes <paramref name="text"/>.</summary>
    public static void Write(string text)
    {
        if (text is null)
            return;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            Put(c < 0x80 ? (byte)c : (byte)'?');
        }
    }

    /// <summary>Writes <paramref name="text"/> and a newline.</summary>
    public static void WriteLine(string text)
    {
        Write(text);
        WriteLine();
    }

    /// <summary>Writes a newline (and sends the line to the host).</summary>
    public static void WriteLine() => Put((byte)'\n');

    /// <summary>Writes raw bytes (for instance a <c>"..."u8</c> literal).</summary>
    public static void Write(ReadOnlySpan<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
            Put(bytes[i]);
    }

    /// <summary>Writes one character.</summary>
    public static void Write(char c) => Put(c < 0x80 ? (byte)c : (byte)'?');

    /// <summary>Writes <paramref name="value"/> in decimal.</summary>
    public static void WriteDecimal(long value)
    {
        if (value < 0)
        {
            Put((byte)'-');
            WriteDecimal((ulong)(-(value + 1)) + 1);
        }
        else
        {
            WriteDecimal((ulong)value);
        }
    }

    /// <summary>Writes <paramref name="value"/> in decimal.</summary>
    public static void WriteDecimal(ulong value)
    {
        byte* digits = stackalloc byte[20];
        int count = 0;
        do
        {
            digits[count++] = (byte)('0' + (int)(value % 10));
            value /= 10;
        } while (value != 0);
        while (count > 0)
            Put(digits[--count]);
    }

    /// <summary>Writes <paramref name="value"/> as <c>0x</c> and at least <paramref name="minDigits"/> hexadecimal digits.</summary>
    public static void WriteHex(ulong value, int minDigits = 1)
    {
        Put((byte)'0');
        Put((byte)'x');
        int digits = 16;
        while (digits > 1 && digits > minDigits && (value >> ((digits - 1) * 4)) == 0)
            digits--;
        for (int i = digits - 1; i >= 0; i--)
        {
            int nibble = (int)(value >> (i * 4)) & 0xF;
            Put((byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10));
        }
    }

    /// <summary>Sends whatever is buffered to the host now.</summary>
    public static void Flush()
    {
        if (s_line.Length == 0)
            return;
        fixed (byte* bytes = s_line.Bytes)
            Hypercalls.ConsoleWrite(bytes, s_line.Length);
        s_line.Length = 0;
    }

    private static void Put(byte b)
    {
        s_line.Bytes[s_line.Length++] = b;
        if (b == (byte)'\n' || s_line.Length == Capacity)
            Flush();
    }
}
