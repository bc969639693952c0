namespace ParaVirt.Core.Engine;

/// <summary>
/// CPUID faulting on a vCPU: <c>MSR_PLATFORM_INFO</c> (0xCE) bit 31 says it is offered, and
/// <c>MSR_MISC_FEATURES_ENABLES</c> (0x140) bit 0 turns it on. Whether a guest's <c>cpuid</c>
/// then really traps depends on the host: ask <see cref="IHypervisor.Behaviour"/>.
/// </summary>
/// <example><code>
/// if (new KvmHypervisor().Behaviour.CpuidTraps &amp;&amp; vm.GetVcpuFeature&lt;IVcpuMsrAccess&gt;() is { } msrs)
///     CpuidFaulting.TryEnable(msrs);
/// </code></example>
public static class CpuidFaulting
{
    /// <summary><c>MSR_PLATFORM_INFO</c>: bit 31 set when CPUID faulting is offered.</summary>
    public const uint PlatformInfoMsr = 0xCE;

    /// <summary><c>MSR_MISC_FEATURES_ENABLES</c>: bit 0 turns CPUID faulting on.</summary>
    public const uint MiscFeaturesEnablesMsr = 0x140;

    /// <summary>Turns CPUID faulting on for the vCPU behind <paramref name="msrs"/>; false if it is not offered or the write is refused.</summary>
    public static bool TryEnable(IVcpuMsrAccess msrs) =>
        msrs.TryReadMsr(PlatformInfoMsr, out ulong info) && (info & (1UL << 31)) != 0 &&
        msrs.TryWriteMsr(MiscFeaturesEnablesMsr, 1);
}
