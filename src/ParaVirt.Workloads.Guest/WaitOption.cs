using ParaVirt.Abi;
using ParaVirt.Guest.Virtio;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// How the block workloads wait for a device that completes asynchronously: by polling (the
/// default, <c>wait=poll</c>), or, with the command line's <c>wait=block</c> word, asleep until the
/// device signals: in para mode <c>SchedOp(block)</c> until the async virtio queue's event channel
/// (<c>disk=virtio-blk-async</c>), in full mode <c>sti; hlt</c> until the device's IRQ arrives
/// through the virtual IDT (<c>disk=ide-dma</c>: IRQ14, <c>disk=nvme</c>: line 11). Devices that
/// complete inside the exit that submits (<c>ata-pio</c>, <c>virtio-blk</c>) ignore it.
/// </summary>
internal static unsafe class WaitOption
{
    /// <summary>The command-line word that selects sleeping until the device signals.</summary>
    public const string WaitBlock = DiskWireName.WaitBlock;

    /// <summary>The command-line word that selects polling (the default).</summary>
    public const string WaitPoll = DiskWireName.WaitPoll;

    /// <summary>The asynchronous mode the command line asks for.</summary>
    public static VirtioTransportMode AsyncWait(StartInfo* info) =>
        WorkloadCommandLine.HasWord(info, WaitBlock) ? VirtioTransportMode.AsyncBlock : VirtioTransportMode.AsyncPoll;

    /// <summary>Whether the command line asks to sleep until the device signals (<c>wait=block</c>).</summary>
    public static bool Sleeps(StartInfo* info) => WorkloadCommandLine.HasWord(info, WaitBlock);
}
