using System;
using ParaVirt.Core.Machine;

namespace ParaVirt.Vmm;

/// <summary>What the builder knows about each <see cref="DiskInterface"/>: its mode and each mode's default.</summary>
/// <example><code>
/// DiskInterface d = DiskInterfaces.DefaultFor(VirtualizationMode.Para);   // VirtioBlk
/// VirtualizationMode m = DiskInterfaces.ModeOf(DiskInterface.IdeDma);    // Full
/// </code></example>
public static class DiskInterfaces
{
    /// <summary>Every interface, in ladder order (worst emulated first).</summary>
    public static ReadOnlySpan<DiskInterface> All => [DiskInterface.AtaPio, DiskInterface.IdeDma, DiskInterface.Nvme, DiskInterface.VirtioBlk, DiskInterface.VirtioBlkAsync];

    /// <summary>The mode whose platform has <paramref name="disk"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined interface.</exception>
    public static VirtualizationMode ModeOf(DiskInterface disk) => disk switch
    {
        DiskInterface.AtaPio or DiskInterface.IdeDma or DiskInterface.Nvme => VirtualizationMode.Full,
        DiskInterface.VirtioBlk or DiskInterface.VirtioBlkAsync => VirtualizationMode.Para,
        _ => throw new ArgumentOutOfRangeException(nameof(disk), disk, "not a disk interface"),
    };

    /// <summary>The disk a machine of <paramref name="mode"/> gets from <see cref="MachineBuilder.WithDisk(ParaVirt.Core.Storage.DiskImage?)"/>: ATA PIO in full mode, virtio-blk in para mode.</summary>
    public static DiskInterface DefaultFor(VirtualizationMode mode) =>
        mode == VirtualizationMode.Full ? DiskInterface.AtaPio : DiskInterface.VirtioBlk;
}
