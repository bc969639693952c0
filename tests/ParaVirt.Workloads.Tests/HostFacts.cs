namespace ParaVirt.Workloads.Tests;

/// <summary>Exit counts that depend on how this host's KVM behaves, derived from the engine's probe instead of assumed.</summary>
public static class HostFacts
{
    /// <summary>How this host's KVM behaves (string I/O exits, cpuid), probed by the engine.</summary>
    public static ParaVirt.Core.Engine.PlatformBehaviour Host => new ParaVirt.Kvm.KvmHypervisor().Behaviour;

    /// <summary>
    /// Port exits of one full-mode 4 KiB ATA PIO read: ready poll, 6 registers, 8 x (status poll +
    /// rep insw of one 512-byte sector), final status. 24 where KVM hands rep insw over a sector at a time.
    /// </summary>
    public static long AtaReadExitsPerRequest => 8 + 8 * (1 + Host.RepInswExitsPer256Words);

    /// <summary>
    /// Port exits of one full-mode 4 KiB ATA PIO write: 8 register/status exits, 8 x (status poll +
    /// rep outsw). 2064 where KVM hands rep outsw over one word per exit (both hosts so far).
    /// </summary>
    public static long AtaWriteExitsPerRequest => 8 + 8 * (1 + Host.RepOutswExitsPer256Words);

    /// <summary>Taskfile registers the IDE DMA driver writes per command, one port access each: device/LBA 27:24, sector count, LBA low, mid, high, command.</summary>
    public const long IdeDmaTaskfileWrites = 6;

    /// <summary>
    /// Port exits of one full-mode 4 KiB IDE bus-master DMA request, read or write: the taskfile, the
    /// bus master's Start, one Status read (the emulated engine moves the data inside the Start exit,
    /// so the first poll finds the drive idle), and the Stop (the PIIX starts only on a 0-to-1
    /// transition). No string I/O, so nothing depends on how this host's KVM splits it: 9.
    /// </summary>
    public static long IdeDmaExitsPerRequest => IdeDmaTaskfileWrites + 1 + 1 + 1;

    /// <summary>
    /// Trap exits of one wait for a device interrupt in full mode (<c>Events.WaitForInterrupt</c>):
    /// the sti and the hlt of <c>sti; hlt</c> (the IRQ raised inside the device's exit is delivered at
    /// the hlt), the handler's <c>sti; iretq</c> (one trap, emulated together), and the cli after it: 4.
    /// </summary>
    public const long InterruptWaitTraps = 4;
}
