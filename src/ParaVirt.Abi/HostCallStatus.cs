namespace ParaVirt.Abi;

/// <summary>
/// The status a host call's response carries (docs/host-calls.md), part of the ABI so that the host and
/// every guest share one definition: 0 for success, negative for an
/// error. Two values are the <see cref="HypercallStatus"/> of the same meaning; the others are
/// specific to host calls and lie outside the hypercall status range. Every value encodes as one
/// MessagePack byte (a fixint).
/// </summary>
/// <example>
/// <code>
/// // response = [status, result]
/// if (status == (long)HostCallStatus.UnknownFunction) { /* no function of that name */ }
/// </code>
/// </example>
public enum HostCallStatus
{
    /// <summary>The function ran; the result follows.</summary>
    Ok = 0,

    /// <summary>No function of that name is registered (<see cref="HypercallStatus.NotFound"/>).</summary>
    UnknownFunction = (int)HypercallStatus.NotFound,

    /// <summary>The host function threw; the host recorded why, the guest gets nil (<see cref="HypercallStatus.HostFailure"/>).</summary>
    HostFailure = (int)HypercallStatus.HostFailure,

    /// <summary>The request is not one well-formed <c>[str, array]</c> MessagePack value of supported types, or has bytes after it.</summary>
    MalformedRequest = -32,

    /// <summary>The argument array's length differs from the function's parameter count.</summary>
    WrongArgumentCount = -33,

    /// <summary>An argument's MessagePack type does not match its parameter, or an integer does not fit it.</summary>
    WrongArgumentType = -34,
}
