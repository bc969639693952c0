namespace ParaVirt.Abi.Legacy;

/// <summary>Bits of the ATA Error register after a failed command (ATA/ATAPI-6 §7.9).</summary>
/// <example>
/// <code>
/// if ((error &amp; AtaError.IdNotFound) != 0) { /* LBA beyond the disk */ }
/// </code>
/// </example>
public static class AtaError
{
    /// <summary>UNC: uncorrectable data error.</summary>
    public const byte Uncorrectable = 0x40;

    /// <summary>IDNF: the requested address is not on the disk.</summary>
    public const byte IdNotFound = 0x10;

    /// <summary>ABRT: the command was aborted (unknown command, bad parameter, device fault).</summary>
    public const byte Aborted = 0x04;

    /// <summary>Diagnostic code after reset or EXECUTE DEVICE DIAGNOSTIC: device 0 passed, device 1 absent.</summary>
    public const byte DiagnosticPassed = 0x01;
}
