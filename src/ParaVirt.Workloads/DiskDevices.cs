using System;
using System.Collections.Generic;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Workloads;

/// <summary>
/// The host's side of <see cref="DiskWireName"/>: each <see cref="DiskInterface"/>'s name on the
/// guest's command line and in results, and the disks each mode's block workloads run on.
/// </summary>
/// <example><code>
/// string name = DiskDevices.WireName(DiskInterface.IdeDma);                 // "ide-dma"
/// bool ok = DiskDevices.TryParse("virtio-blk", out DiskInterface disk);
/// foreach (DiskInterface d in DiskDevices.Of(VirtualizationMode.Full)) { }   // ata-pio, ide-dma, nvme
/// </code></example>
public static class DiskDevices
{
    private static readonly DiskInterface[] FullDisks = [DiskInterface.AtaPio, DiskInterface.IdeDma, DiskInterface.Nvme];
    private static readonly DiskInterface[] ParaDisks = [DiskInterface.VirtioBlk, DiskInterface.VirtioBlkAsync];

    /// <summary>The wire name of <paramref name="disk"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined interface.</exception>
    public static string WireName(DiskInterface disk) => disk switch
    {
        DiskInterface.AtaPio => DiskWireName.AtaPio,
        DiskInterface.IdeDma => DiskWireName.IdeDma,
        DiskInterface.Nvme => DiskWireName.Nvme,
        DiskInterface.VirtioBlk => DiskWireName.VirtioBlk,
        DiskInterface.VirtioBlkAsync => DiskWireName.VirtioBlkAsync,
        _ => throw new ArgumentOutOfRangeException(nameof(disk), disk, "not a disk interface"),
    };

    /// <summary>The interface whose wire name is <paramref name="name"/> (ordinal); false for any other text.</summary>
    public static bool TryParse(string? name, out DiskInterface disk)
    {
        foreach (DiskInterface d in DiskInterfaces.All)
        {
            if (string.Equals(WireName(d), name, StringComparison.Ordinal))
            {
                disk = d;
                return true;
            }
        }
        disk = default;
        return false;
    }

    /// <summary>Whether <paramref name="disk"/> keeps several requests in flight (queues or rings); ATA PIO and IDE DMA run one command at a time.</summary>
    public static bool HasQueue(DiskInterface disk) => disk is not (DiskInterface.AtaPio or DiskInterface.IdeDma);

    /// <summary>
    /// Whether <paramref name="disk"/> finishes a request after the exit that submitted it, so its
    /// driver can wait by polling or asleep until an interrupt or event (<see cref="DiskCompletion"/>):
    /// IDE DMA (IRQ14), NVMe (its pin), virtio-blk on the asynchronous transport (its event channel).
    /// </summary>
    public static bool CompletesAsynchronously(DiskInterface disk) => disk is DiskInterface.IdeDma or DiskInterface.Nvme or DiskInterface.VirtioBlkAsync;

    /// <summary>The disks of <paramref name="mode"/> in ladder order (a device that is not built yet makes <see cref="MachineBuilder.Build"/> throw <see cref="NotSupportedException"/>).</summary>
    public static IReadOnlyList<DiskInterface> Of(VirtualizationMode mode) => mode == VirtualizationMode.Full ? FullDisks : ParaDisks;
}
