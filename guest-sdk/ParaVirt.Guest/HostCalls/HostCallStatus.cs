namespace ParaVirt.Guest;

/// <summary>
/// What a host call returned (docs/host-calls.md). 0 is success. The response statuses have the
/// same values as the host's <c>ParaVirt.Core.HostCalls.HostCallStatus</c> (a test pins them); the
/// hypercall statuses come from the hypercall itself or from the guest's own checks, before or
/// instead of a response.
/// </summary>
/// <example><code>
/// HostCallStatus status = HostCalls.Call("add", 2, 3, out long sum);
/// if (status != HostCallStatus.Ok) Console.WriteDecimal((long)status);
/// </code></example>
public enum HostCallStatus
{
    /// <summary>The function ran; the result is valid.</summary>
    Ok = 0,

    // Statuses of the hypercall (ParaVirt.Abi.HypercallStatus values), no response.

    /// <summary>The host has no host calls (hypercall 6 unknown).</summary>
    NotSupported = -1,

    /// <summary>This VM may not make host calls.</summary>
    Denied = -2,

    /// <summary>The guest-side call was built wrongly (fewer or more arguments added than declared).</summary>
    InvalidArgument = -3,

    /// <summary>The request or response buffer is not guest memory.</summary>
    BadAddress = -4,

    /// <summary>The request did not fit its buffer or the host's limit (64 KiB), or the response did not fit its buffer.</summary>
    TooLarge = -5,

    // Statuses the host's response carries.

    /// <summary>No host function has that name.</summary>
    UnknownFunction = -8,

    /// <summary>The host function failed; the host recorded why. Also: a response the guest could not parse.</summary>
    HostFailure = -9,

    /// <summary>The host could not decode the request.</summary>
    MalformedRequest = -32,

    /// <summary>The function takes a different number of arguments.</summary>
    WrongArgumentCount = -33,

    /// <summary>An argument has the wrong type for its parameter, or an integer does not fit it.</summary>
    WrongArgumentType = -34,
}
