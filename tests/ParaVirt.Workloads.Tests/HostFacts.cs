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
}
