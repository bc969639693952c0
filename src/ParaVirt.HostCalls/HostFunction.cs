using ParaVirt.Abi;
using System;
using MessagePack;

namespace ParaVirt.HostCalls;

/// <summary>
/// One registered host function: its name, its parameter count, and how to decode its arguments,
/// call it and encode its result. The generic subclasses in HostFunctions.cs bind the delegate.
/// </summary>
internal abstract class HostFunction(string name, int parameterCount)
{
    /// <summary>The name guests call it by.</summary>
    public string Name { get; } = name;

    /// <summary>How many arguments a call must carry.</summary>
    public int ParameterCount { get; } = parameterCount;

    /// <summary>
    /// Reads exactly <see cref="ParameterCount"/> arguments from <paramref name="arguments"/>
    /// (positioned after the argument array's header), calls the function, and writes its result
    /// to <paramref name="result"/>. A wrong argument returns its status and calls nothing.
    /// Exceptions from the function itself propagate to the dispatcher, which reports
    /// <see cref="HostCallStatus.HostFailure"/>.
    /// </summary>
    public abstract HostCallStatus Invoke(ref MessagePackReader arguments, ref MessagePackWriter result, out Exception? failure);

    /// <summary>
    /// The status for an exception thrown while decoding arguments: the request is guest data, so
    /// whatever the reader threw on (a truncated value, a length past the end) is the guest's
    /// malformed request; an integer that does not fit the parameter is a wrong type.
    /// </summary>
    protected static HostCallStatus DecodingFailed(Exception ex) =>
        ex is OverflowException ? HostCallStatus.WrongArgumentType : HostCallStatus.MalformedRequest;
}
