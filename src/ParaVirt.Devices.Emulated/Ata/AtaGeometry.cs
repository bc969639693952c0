using System;

namespace ParaVirt.Devices.Emulated.Ata;

/// <summary>
/// The size and CHS translation of an ATA disk: the default translation (16 heads, 63 sectors per
/// track, at most 16383 cylinders) and the current one, which INITIALIZE DEVICE PARAMETERS changes.
/// </summary>
/// <example>
/// <code>
/// var g = new AtaGeometry(sectors: 8192);   // 8 cylinders of 16 x 63
/// </code>
/// </example>
public readonly record struct AtaGeometry
{
    /// <summary>Creates the default geometry for a disk of <paramref name="sectors"/> sectors.</summary>
    public AtaGeometry(ulong sectors)
    {
        Sectors = sectors;
        DefaultHeads = 16;
        DefaultSectorsPerTrack = 63;
        DefaultCylinders = (ushort)Math.Clamp(sectors / (16 * 63), 1UL, 16383UL);
        CurrentHeads = DefaultHeads;
        CurrentSectorsPerTrack = DefaultSectorsPerTrack;
        CurrentCylinders = DefaultCylinders;
    }

    /// <summary>Total sectors on the disk.</summary>
    public ulong Sectors { get; }

    /// <summary>Default cylinders (IDENTIFY word 1).</summary>
    public ushort DefaultCylinders { get; }

    /// <summary>Default heads (IDENTIFY word 3).</summary>
    public ushort DefaultHeads { get; }

    /// <summary>Default sectors per track (IDENTIFY word 6).</summary>
    public ushort DefaultSectorsPerTrack { get; }

    /// <summary>Current cylinders (IDENTIFY word 54).</summary>
    public ushort CurrentCylinders { get; init; }

    /// <summary>Current heads, 1-16 (IDENTIFY word 55).</summary>
    public ushort CurrentHeads { get; init; }

    /// <summary>Current sectors per track, 1-255 (IDENTIFY word 56).</summary>
    public ushort CurrentSectorsPerTrack { get; init; }

    /// <summary>The geometry after INITIALIZE DEVICE PARAMETERS with <paramref name="heads"/> and <paramref name="sectorsPerTrack"/>.</summary>
    public AtaGeometry WithTranslation(ushort heads, ushort sectorsPerTrack)
    {
        ulong perCylinder = (ulong)heads * sectorsPerTrack;
        return this with
        {
            CurrentHeads = heads,
            CurrentSectorsPerTrack = sectorsPerTrack,
            CurrentCylinders = (ushort)Math.Clamp(Sectors / perCylinder, 1UL, 65535UL),
        };
    }
}
