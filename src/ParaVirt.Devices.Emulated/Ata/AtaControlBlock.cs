using System;
using ParaVirt.Core.Bus;

namespace ParaVirt.Devices.Emulated.Ata;

/// <summary>
/// The control block port of an <see cref="AtaPioDisk"/> (0x3F6 on the primary channel): reads
/// return Alternate Status (without acknowledging the interrupt), writes go to Device Control
/// (bit 1 nIEN, bit 2 SRST, bit 7 HOB). Wider accesses repeat the byte access for each byte.
/// </summary>
/// <example>
/// <code>
/// vm.PortBus.Register(AtaPioDisk.ControlBlockPort, 1, disk.ControlBlock);
/// </code>
/// </example>
public sealed class AtaControlBlock : IBusDevice
{
    private readonly AtaPioDisk _disk;

    internal AtaControlBlock(AtaPioDisk disk) => _disk = disk;

    /// <inheritdoc/>
    public string Name => "ata0-control";

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
            data[i] = _disk.ReadAlternateStatus();
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
            _disk.WriteDeviceControl(data[i]);
    }
}
