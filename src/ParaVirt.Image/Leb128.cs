using System;
using System.IO;

namespace ParaVirt.Image;

/// <summary>
/// DWARF's variable-length integers (LEB128, DWARF 5 §7.6), read by the line table and the
/// call-frame table. At most 64 bits; a longer encoding is <see cref="InvalidDataException"/>, and
/// reading past the end of <c>data</c> throws as a span index does (the callers turn both into a
/// refused debug section).
/// </summary>
internal static class Leb128
{
    /// <summary>The unsigned value at <paramref name="p"/>, which moves past it.</summary>
    public static ulong ReadUnsigned(ReadOnlySpan<byte> data, ref int p)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = data[p++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new InvalidDataException("ULEB128 too long");
    }

    /// <summary>The signed value at <paramref name="p"/>, which moves past it.</summary>
    public static long ReadSigned(ReadOnlySpan<byte> data, ref int p)
    {
        long value = 0;
        int shift = 0;
        byte b;
        do
        {
            if (shift >= 64)
                throw new InvalidDataException("SLEB128 too long");
            b = data[p++];
            value |= (long)(b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        if (shift < 64 && (b & 0x40) != 0)
            value |= -1L << shift;
        return value;
    }
}
