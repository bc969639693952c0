using System;
using MessagePack;

namespace ParaVirt.Core.HostCalls;

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
}
