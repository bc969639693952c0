using ParaVirt.Abi;
using System;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using MessagePack;

namespace ParaVirt.HostCalls;

/// <summary>
/// Reads and writes the .NET types host functions may take and return (<see cref="long"/>,
/// <see cref="ulong"/>, <see cref="int"/>, <see cref="bool"/>, <see cref="string"/>,
/// <c>byte[]</c>) as MessagePack values. Reading checks the value's type before it reads it, so a
/// guest's wrong type is a status, not an exception; it never skips unknown values (skipping
/// recurses into nested arrays, which a hostile request could nest 64 Ki deep).
/// </summary>
internal static class HostValueCodec
{
    /// <summary>Whether host functions may use <paramref name="type"/> as a parameter or result.</summary>
    public static bool IsSupported(Type type) =>
        type == typeof(long) || type == typeof(ulong) || type == typeof(int) || type == typeof(bool) ||
        type == typeof(string) || type == typeof(byte[]);

    /// <summary>
    /// Reads one argument as <typeparamref name="T"/>. Integers, booleans: no allocation.
    /// Strings and binaries: one string or array. Truncated input throws a MessagePack exception,
    /// which the dispatcher reports as <see cref="HostCallStatus.MalformedRequest"/>.
    /// </summary>
    public static HostCallStatus TryRead<T>(ref MessagePackReader reader, out T value)
    {
        value = default!;
        MessagePackType type = reader.NextMessagePackType;
        if (typeof(T) == typeof(long) || typeof(T) == typeof(ulong) || typeof(T) == typeof(int))
        {
            if (type != MessagePackType.Integer)
                return HostCallStatus.WrongArgumentType;
            // Invariant: Read* throws OverflowException when the integer does not fit T; the
            // caller maps it to WrongArgumentType.
            if (typeof(T) == typeof(long))
            {
                long v = reader.ReadInt64();
                value = Unsafe.As<long, T>(ref v);
            }
            else if (typeof(T) == typeof(ulong))
            {
                ulong v = reader.ReadUInt64();
                value = Unsafe.As<ulong, T>(ref v);
            }
            else
            {
                int v = reader.ReadInt32();
                value = Unsafe.As<int, T>(ref v);
            }
            return HostCallStatus.Ok;
        }
        if (typeof(T) == typeof(bool))
        {
            if (type != MessagePackType.Boolean)
                return HostCallStatus.WrongArgumentType;
            bool v = reader.ReadBoolean();
            value = Unsafe.As<bool, T>(ref v);
            return HostCallStatus.Ok;
        }
        if (typeof(T) == typeof(string))
        {
            if (type != MessagePackType.String)
                return HostCallStatus.WrongArgumentType;
            ReadOnlySequence<byte> utf8 = reader.ReadStringSequence() ?? default;
            // The request is one contiguous buffer, so the sequence is a single segment.
            if (!utf8.IsSingleSegment || !Utf8.IsValid(utf8.FirstSpan))
                return HostCallStatus.MalformedRequest;
            value = (T)(object)Encoding.UTF8.GetString(utf8.FirstSpan);
            return HostCallStatus.Ok;
        }
        if (typeof(T) == typeof(byte[]))
        {
            if (type != MessagePackType.Binary)
                return HostCallStatus.WrongArgumentType;
            ReadOnlySequence<byte> bytes = reader.ReadBytes() ?? default;
            value = (T)(object)bytes.ToArray();
            return HostCallStatus.Ok;
        }
        return HostCallStatus.WrongArgumentType;
    }

    /// <summary>Writes a result of type <typeparamref name="T"/>; a null string or array is nil.</summary>
    public static void Write<T>(ref MessagePackWriter writer, T value)
    {
        if (typeof(T) == typeof(long))
            writer.Write(Unsafe.As<T, long>(ref value));
        else if (typeof(T) == typeof(ulong))
            writer.Write(Unsafe.As<T, ulong>(ref value));
        else if (typeof(T) == typeof(int))
            writer.Write(Unsafe.As<T, int>(ref value));
        else if (typeof(T) == typeof(bool))
            writer.Write(Unsafe.As<T, bool>(ref value));
        else if (typeof(T) == typeof(string))
            WriteString(ref writer, (string?)(object?)value);
        else if (typeof(T) == typeof(byte[]))
            writer.Write((byte[]?)(object?)value);
        else
            writer.WriteNil();
    }

    /// <summary>
    /// Writes a string with an exact size request: MessagePackWriter.Write(string) asks for the
    /// worst-case UTF-8 size, which would refuse a string that fits.
    /// </summary>
    private static void WriteString(ref MessagePackWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        int length = Encoding.UTF8.GetByteCount(value);
        writer.WriteStringHeader(length);
        if (length == 0)
            return;
        Span<byte> span = writer.GetSpan(length);
        Encoding.UTF8.GetBytes(value, span);
        writer.Advance(length);
    }
}
