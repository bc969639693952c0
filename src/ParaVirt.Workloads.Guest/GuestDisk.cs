using System;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>The disk device the block workloads drive, named by the command line's <c>disk=</c> word (<see cref="DiskWireName"/>).</summary>
internal enum GuestDisk
{
    /// <summary><c>ata-pio</c> (full mode's default).</summary>
    AtaPio,

    /// <summary><c>ide-dma</c>.</summary>
    IdeDma,

    /// <summary><c>nvme</c>.</summary>
    Nvme,

    /// <summary><c>virtio-blk</c> (para mode's default).</summary>
    VirtioBlk,

    /// <summary><c>virtio-blk-async</c>.</summary>
    VirtioBlkAsync,
}

/// <summary>Parses the <c>disk=</c> word.</summary>
internal static class GuestDisks
{
    /// <summary>The disk named <paramref name="name"/>; an empty name is this build's default (ATA PIO in full mode, virtio-blk in para mode).</summary>
    public static bool TryParse(ReadOnlySpan<byte> name, out GuestDisk disk)
    {
#if PARAVIRT_FULL
        disk = GuestDisk.AtaPio;
#else
        disk = GuestDisk.VirtioBlk;
#endif
        if (name.Length == 0)
            return true;
        if (WorkloadCommandLine.Is(name, DiskWireName.AtaPio))
            disk = GuestDisk.AtaPio;
        else if (WorkloadCommandLine.Is(name, DiskWireName.IdeDma))
            disk = GuestDisk.IdeDma;
        else if (WorkloadCommandLine.Is(name, DiskWireName.Nvme))
            disk = GuestDisk.Nvme;
        else if (WorkloadCommandLine.Is(name, DiskWireName.VirtioBlk))
            disk = GuestDisk.VirtioBlk;
        else if (WorkloadCommandLine.Is(name, DiskWireName.VirtioBlkAsync))
            disk = GuestDisk.VirtioBlkAsync;
        else
            return false;
        return true;
    }
}
