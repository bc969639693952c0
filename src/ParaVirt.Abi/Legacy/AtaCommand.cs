namespace ParaVirt.Abi.Legacy;

/// <summary>The ATA command codes the emulated disk implements (ATA/ATAPI-6 §8), written to <see cref="AtaRegisters.Command"/>.</summary>
/// <example><code>
/// Cpu.OutByte(AtaRegisters.Command, AtaCommand.ReadSectors);
/// </code></example>
public static class AtaCommand
{
    /// <summary>RECALIBRATE (obsolete; completes at once).</summary>
    public const byte Recalibrate = 0x10;

    /// <summary>READ SECTORS (PIO in).</summary>
    public const byte ReadSectors = 0x20;

    /// <summary>READ SECTORS without retry (obsolete alias).</summary>
    public const byte ReadSectorsNoRetry = 0x21;

    /// <summary>WRITE SECTORS (PIO out).</summary>
    public const byte WriteSectors = 0x30;

    /// <summary>WRITE SECTORS without retry (obsolete alias).</summary>
    public const byte WriteSectorsNoRetry = 0x31;

    /// <summary>READ VERIFY SECTORS (no data moved).</summary>
    public const byte ReadVerifySectors = 0x40;

    /// <summary>READ VERIFY SECTORS without retry (obsolete alias).</summary>
    public const byte ReadVerifySectorsNoRetry = 0x41;

    /// <summary>READ DMA (28-bit LBA; the data moves through the bus-master DMA engine, <see cref="IdeBusMasterRegisters"/>).</summary>
    public const byte ReadDma = 0xC8;

    /// <summary>READ DMA without retry (obsolete alias).</summary>
    public const byte ReadDmaNoRetry = 0xC9;

    /// <summary>WRITE DMA (28-bit LBA, through the bus-master DMA engine).</summary>
    public const byte WriteDma = 0xCA;

    /// <summary>WRITE DMA without retry (obsolete alias).</summary>
    public const byte WriteDmaNoRetry = 0xCB;

    /// <summary>EXECUTE DEVICE DIAGNOSTIC.</summary>
    public const byte ExecuteDeviceDiagnostic = 0x90;

    /// <summary>INITIALIZE DEVICE PARAMETERS (CHS geometry).</summary>
    public const byte InitializeDeviceParameters = 0x91;

    /// <summary>STANDBY IMMEDIATE.</summary>
    public const byte StandbyImmediate = 0xE0;

    /// <summary>IDLE IMMEDIATE.</summary>
    public const byte IdleImmediate = 0xE1;

    /// <summary>CHECK POWER MODE.</summary>
    public const byte CheckPowerMode = 0xE5;

    /// <summary>FLUSH CACHE.</summary>
    public const byte FlushCache = 0xE7;

    /// <summary>IDENTIFY DEVICE (one 512-byte block in).</summary>
    public const byte IdentifyDevice = 0xEC;

    /// <summary>SET FEATURES.</summary>
    public const byte SetFeatures = 0xEF;
}
