namespace ParaVirt.Guest;

/// <summary>
/// What a host call returned (docs/host-calls.md). 0 is success. The response statuses have the
/// same values as the host's <c>ParaVirt.HostCalls.HostCallResult</c> (a test pins them); the
/// hypercall statuses come from the hypercall itself or from the guest's own checks, before or
/// instead of a response.
/// </summary>
/// <example><code>
/// HostCallResult status = HostCalls.Call("add", 2, 3, out long sum);
/// if (status != HostCallResult.Ok) Console.WriteDecimal((long)status);
/// </code></example>
public enum HostCallResult
{
    /// <summary>The function ran; the result is valid.</summary>
    Ok = 0,

    // Statuses of the hypercall (ParaVirt.Abi.HypercallStatus values), no response.

    /// <summary>The host has no host calls (hypercall 6 unknown).</summary>
    NotSupported = (int)ParaVirt.Abi.HypercallStatus.UnknownHypercall,

    /// <summary>This VM may not make host calls.</summary>
    Denied = (int)ParaVirt.Abi.HypercallStatus.Denied,

    /// <summary>The guest-side call was built wrongly (fewer or more arguments added than declared).</summary>
    InvalidArgument = (int)ParaVirt.Abi.HypercallStatus.InvalidArgument,

    /// <summary>The request or response buffer is not guest memory.</summary>
    BadAddress = (int)ParaVirt.Abi.HypercallStatus.BadAddress,

    /// <summary>The request did not fit its buffer or the host's limit (64 KiB), or the response did not fit its buffer.</summary>
    TooLarge = (int)ParaVirt.Abi.HypercallStatus.TooLarge,

    // Statuses the host's response carries.

    /// <summary>No host function has that name.</summary>
    UnknownFunction = (int)ParaVirt.Abi.HostCallStatus.UnknownFunction,

    /// <summary>The host function failed; the host recorded why. Also: a response the guest could not parse.</summary>
    HostFailure = (int)ParaVirt.Abi.HostCallStatus.HostFailure,

    /// <summary>The host could not decode the request.</summary>
    MalformedRequest = (int)ParaVirt.Abi.HostCallStatus.MalformedRequest,

    /// <summary>The function takes a different number of arguments.</summary>
    WrongArgumentCount = (int)ParaVirt.Abi.HostCallStatus.WrongArgumentCount,

    /// <summary>An argument has the wrong type for its parameter, or an integer does not fit it.</summary>
    WrongArgumentType = (int)ParaVirt.Abi.HostCallStatus.WrongArgumentType,
}
