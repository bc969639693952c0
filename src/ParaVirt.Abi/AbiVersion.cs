namespace ParaVirt.Abi;

/// <summary>
/// The version of the ParaVirt guest/host ABI. A guest reads it from <see cref="StartInfo.AbiVersion"/>
/// or with <see cref="Hypercall.GetVersion"/> before it relies on anything else.
/// </summary>
/// <remarks>
/// The major number changes only when an existing number, layout or meaning changes (never, by
/// policy); the minor number grows when calls, features or fields are added.
/// Encoded as <c>(Major &lt;&lt; 16) | Minor</c>.
/// </remarks>
public static class AbiVersion
{
    /// <summary>Major version: incompatible changes.</summary>
    public const uint Major = 0;

    /// <summary>Minor version: additions.</summary>
    public const uint Minor = 2;

    /// <summary>The encoded version, <c>(Major &lt;&lt; 16) | Minor</c>.</summary>
    public const uint Current = (Major << 16) | Minor;
}
