using System;

namespace ParaVirt.Guest;

/// <summary>
/// One typed host call, built in a caller's buffer: the function name, then the arguments in
/// order, then <see cref="Invoke"/>. Request and response may share one buffer (the host reads the
/// whole request before it writes the response). No allocation, no exceptions.
/// </summary>
/// <example><code>
/// Span&lt;byte&gt; buffer = stackalloc byte[256];
/// var call = HostCall.Begin(buffer, "greet", 1);
/// call.AddString("guest");
/// if (call.Invoke(buffer, out PackReader result) == HostCallResult.Ok &amp;&amp; result.TryReadString(out ReadOnlySpan&lt;byte&gt; text))
///     Console.Write(text);
/// </code></example>
public ref struct HostCall
{
    private PackWriter _request;
    private readonly int _declared;
    private int _added;

    private HostCall(Span<byte> request, int argumentCount)
    {
        _request = new PackWriter(request);
        _declared = argumentCount;
        _added = 0;
    }

    /// <summary>Starts a call of <paramref name="name"/> with <paramref name="argumentCount"/> arguments in <paramref name="request"/>.</summary>
    public static HostCall Begin(Span<byte> request, string name, int argumentCount)
    {
        var call = new HostCall(request, argumentCount);
        call._request.WriteArrayHeader(2);
        call._request.WriteString(name);
        call._request.WriteArrayHeader(argumentCount);
        return call;
    }

    /// <summary>Starts a call whose name is UTF-8 bytes (a <c>"..."u8</c> literal).</summary>
    public static HostCall Begin(Span<byte> request, ReadOnlySpan<byte> utf8Name, int argumentCount)
    {
        var call = new HostCall(request, argumentCount);
        call._request.WriteArrayHeader(2);
        call._request.WriteStringUtf8(utf8Name);
        call._request.WriteArrayHeader(argumentCount);
        return call;
    }

    /// <summary>Adds a signed integer argument (for a host <c>long</c> or <c>int</c> parameter).</summary>
    public void AddInt64(long value)
    {
        _request.WriteInt64(value);
        _added++;
    }

    /// <summary>Adds an unsigned integer argument (for a host <c>ulong</c> parameter).</summary>
    public void AddUInt64(ulong value)
    {
        _request.WriteUInt64(value);
        _added++;
    }

    /// <summary>Adds a boolean argument.</summary>
    public void AddBool(bool value)
    {
        _request.WriteBool(value);
        _added++;
    }

    /// <summary>Adds a string argument (UTF-8 encoded).</summary>
    public void AddString(string value)
    {
        _request.WriteString(value);
        _added++;
    }

    /// <summary>Adds a string argument given as UTF-8 bytes.</summary>
    public void AddStringUtf8(ReadOnlySpan<byte> utf8)
    {
        _request.WriteStringUtf8(utf8);
        _added++;
    }

    /// <summary>Adds a binary (<c>byte[]</c>) argument.</summary>
    public void AddBinary(ReadOnlySpan<byte> bytes)
    {
        _request.WriteBinary(bytes);
        _added++;
    }

    /// <summary>
    /// Sends the call. On <see cref="HostCallResult.Ok"/>, <paramref name="result"/> is positioned
    /// at the result value inside <paramref name="response"/>; on any other status it is empty.
    /// </summary>
    public HostCallResult Invoke(Span<byte> response, out PackReader result)
    {
        result = default;
        if (_request.Overflowed)
            return HostCallResult.TooLarge;
        if (_added != _declared)
            return HostCallResult.InvalidArgument;
        long length = Hypercalls.HostCall(_request.Written, response);
        if (length < 0)
            return (HostCallResult)length;
        if (length > response.Length)
            return HostCallResult.HostFailure;
        var reader = new PackReader(response.Slice(0, (int)length));
        if (!reader.TryReadArrayHeader(out int count) || count != 2 || !reader.TryReadInt64(out long status))
            return HostCallResult.HostFailure;
        if (status != 0)
            return (HostCallResult)status;
        result = reader;
        return HostCallResult.Ok;
    }
}
