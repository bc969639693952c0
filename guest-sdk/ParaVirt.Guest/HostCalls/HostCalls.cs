using System;

namespace ParaVirt.Guest;

/// <summary>
/// One-line host calls for the common shapes: integers in, an integer out; a string in, a string
/// out. Each builds its request on the stack (or in the caller's buffer) and costs one exit. For
/// other shapes, build a <see cref="HostCall"/>.
/// </summary>
/// <example><code>
/// if (HostCalls.Call("add", 2, 40, out long sum) == HostCallResult.Ok) Console.WriteDecimal(sum);
///
/// Span&lt;byte&gt; buffer = stackalloc byte[128];
/// if (HostCalls.Call("greet", "guest", buffer, out ReadOnlySpan&lt;byte&gt; greeting) == HostCallResult.Ok)
///     Console.Write(greeting);
/// </code></example>
public static class HostCalls
{
    /// <summary>Room on the stack for an integer call: a name of up to 256 UTF-8 bytes and three integers.</summary>
    private const int IntegerCallBuffer = 320;

    /// <summary>Calls a host function without arguments that returns an integer.</summary>
    public static HostCallResult Call(string name, out long result)
    {
        Span<byte> buffer = stackalloc byte[IntegerCallBuffer];
        HostCall call = HostCall.Begin(buffer, name, 0);
        return Finish(ref call, buffer, out result);
    }

    /// <summary>Calls a host function of one integer that returns an integer.</summary>
    public static HostCallResult Call(string name, long arg0, out long result)
    {
        Span<byte> buffer = stackalloc byte[IntegerCallBuffer];
        HostCall call = HostCall.Begin(buffer, name, 1);
        call.AddInt64(arg0);
        return Finish(ref call, buffer, out result);
    }

    /// <summary>Calls a host function of two integers that returns an integer.</summary>
    public static HostCallResult Call(string name, long arg0, long arg1, out long result)
    {
        Span<byte> buffer = stackalloc byte[IntegerCallBuffer];
        HostCall call = HostCall.Begin(buffer, name, 2);
        call.AddInt64(arg0);
        call.AddInt64(arg1);
        return Finish(ref call, buffer, out result);
    }

    /// <summary>
    /// Calls a host function of one string that returns a string. <paramref name="buffer"/> holds
    /// the request and then the response; <paramref name="utf8Result"/> points into it.
    /// </summary>
    public static HostCallResult Call(string name, string arg0, Span<byte> buffer, out ReadOnlySpan<byte> utf8Result)
    {
        utf8Result = default;
        HostCall call = HostCall.Begin(buffer, name, 1);
        call.AddString(arg0);
        HostCallResult status = call.Invoke(buffer, out PackReader reader);
        if (status != HostCallResult.Ok)
            return status;
        if (!reader.TryReadString(out utf8Result) || !reader.End)
            return HostCallResult.HostFailure; // the function does not return a string
        return HostCallResult.Ok;
    }

    private static HostCallResult Finish(ref HostCall call, Span<byte> buffer, out long result)
    {
        result = 0;
        HostCallResult status = call.Invoke(buffer, out PackReader reader);
        if (status != HostCallResult.Ok)
            return status;
        if (!reader.TryReadInt64(out result) || !reader.End)
            return HostCallResult.HostFailure; // the function does not return an integer
        return HostCallResult.Ok;
    }
}
