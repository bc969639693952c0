using System;

namespace ParaVirt.Image;

/// <summary>Access rights of an image section, as stored in the section table.</summary>
[Flags]
public enum SectionPermissions : uint
{
    /// <summary>No access.</summary>
    None = 0,

    /// <summary>Readable.</summary>
    Read = 1,

    /// <summary>Writable.</summary>
    Write = 2,

    /// <summary>Executable.</summary>
    Execute = 4,
}
