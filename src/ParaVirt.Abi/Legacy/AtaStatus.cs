namespace ParaVirt.Abi.Legacy;

/// <summary>Bits of the ATA Status and Alternate Status registers (ATA/ATAPI-6 §7.15).</summary>
/// <example>
/// <code>
/// bool ready = (status &amp; AtaStatus.Drq) != 0 &amp;&amp; (status &amp; AtaStatus.Busy) == 0;
/// </code>
/// </example>
public static class AtaStatus
{
    /// <summary>BSY: the device owns the registers.</summary>
    public const byte Busy = 0x80;

    /// <summary>DRDY: the device accepts commands.</summary>
    public const byte Ready = 0x40;

    /// <summary>DF: device fault.</summary>
    public const byte DeviceFault = 0x20;

    /// <summary>DSC: device seek complete (obsolete since ATA-4, still read by drivers expecting 0x50).</summary>
    public const byte SeekComplete = 0x10;

    /// <summary>DRQ: a data block is ready to move through the data register.</summary>
    public const byte DataRequest = 0x08;

    /// <summary>ERR: the last command failed; see the Error register.</summary>
    public const byte Error = 0x01;
}
