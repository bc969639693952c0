using System.Buffers;
using MessagePack;

namespace ParaVirt.HostCalls.Tests;

/// <summary>Builds requests and reads responses with MessagePack-CSharp, independently of the code under test.</summary>
internal static class Messages
{
    /// <summary>[name, [args...]] with each argument written by its .NET type (null: nil).</summary>
    public static byte[] Request(string name, params object?[] args) =>
        Encode((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(name);
            w.WriteArrayHeader(args.Length);
            foreach (object? arg in args)
                WriteValue(ref w, arg);
        });

    public delegate void Writing(ref MessagePackWriter writer);

    public static byte[] Encode(Writing write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static void WriteValue(ref MessagePackWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNil(); break;
            case long l: w.Write(l); break;
            case ulong u: w.Write(u); break;
            case int i: w.Write(i); break;
            case bool b: w.Write(b); break;
            case string s: w.Write(s); break;
            case byte[] bytes: w.Write(bytes); break;
            case double d: w.Write(d); break;
            default: throw new ArgumentException($"no encoding for {value.GetType()}");
        }
    }

    /// <summary>A decoded response: its status and its result as a plain .NET value.</summary>
    public readonly record struct Response(long Status, object? Result);

    /// <summary>Decodes [status, result]; fails the test if the bytes are anything else.</summary>
    public static Response Decode(ReadOnlySpan<byte> bytes)
    {
        var reader = new MessagePackReader(bytes.ToArray());
        Assert.That(reader.ReadArrayHeader(), Is.EqualTo(2), "a response is a 2-element array");
        long status = reader.ReadInt64();
        object? result = reader.NextMessagePackType switch
        {
            MessagePackType.Nil => ReadNil(ref reader),
            MessagePackType.Integer => reader.ReadInt64(),
            MessagePackType.Boolean => reader.ReadBoolean(),
            MessagePackType.String => reader.ReadString(),
            MessagePackType.Binary => reader.ReadBytes()!.Value.ToArray(),
            var other => throw new AssertionException($"unexpected result type {other}"),
        };
        Assert.That(reader.End, Is.True, "nothing follows the response");
        return new Response(status, result);
    }

    private static object? ReadNil(ref MessagePackReader reader)
    {
        reader.ReadNil();
        return null;
    }
}
