namespace ParaVirt.Abi;

/// <summary>
/// Status codes a hypercall returns in RAX. Zero or positive is success (a count or value);
/// negative is one of these errors.
/// </summary>
public enum HypercallStatus : long
{
    /// <summary>Success.</summary>
    Ok = 0,

    /// <summary>No hypercall has this number.</summary>
    UnknownHypercall = -1,

    /// <summary>The VM was not granted this hypercall (per-VM allow-list).</summary>
    Denied = -2,

    /// <summary>An argument is out of its range.</summary>
    InvalidArgument = -3,

    /// <summary>A guest address or length leaves guest memory or overflows.</summary>
    BadAddress = -4,

    /// <summary>The request does not fit (a buffer too small, a list too long).</summary>
    TooLarge = -5,

    /// <summary>The host failed to perform an I/O on the guest's behalf.</summary>
    IoError = -6,

    /// <summary>The operation cannot be done now (for instance, a nested multicall).</summary>
    NotPermitted = -7,

    /// <summary>A named thing (host function, device) does not exist.</summary>
    NotFound = -8,

    /// <summary>The handler failed; the host logged why.</summary>
    HostFailure = -9,
}
