namespace ParaVirt.Guest;

/// <summary>Access rights of a page an <see cref="AddressSpace"/> maps (every mapping is present and user-accessible: the guest runs at CPL3).</summary>
public enum PageFlags : ulong
{
    /// <summary>Read-only (and executable).</summary>
    ReadOnly = 0,

    /// <summary>Writable.</summary>
    Writable = 1UL << 1,

    /// <summary>Not executable.</summary>
    NoExecute = 1UL << 63,
}
