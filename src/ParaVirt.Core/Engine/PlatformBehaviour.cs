using System;
using System.Collections.Generic;

namespace ParaVirt.Core.Engine;

/// <summary>
/// What this host's engine actually does with the guest behaviours ParaVirt relies on, found by
/// running small probe guests rather than assumed from the CPU vendor. Machines of one kind may
/// have an Intel or an AMD CPU, and a nested KVM (such as <c>kvm_pvm</c>) answers some
/// instructions natively: the product asks this record instead of guessing.
/// </summary>
/// <example><code>
/// PlatformBehaviour host = new KvmHypervisor().Behaviour;
/// if (!host.CpuidTraps)
///     Console.WriteLine($"cpuid is not virtualizable here: the guest sees '{host.NativeCpuidSignature}'");
/// </code></example>
/// <param name="CpuVendor">The host CPU's vendor string from <c>cpuid</c> leaf 0 ("GenuineIntel", "AuthenticAMD").</param>
/// <param name="CpuidFaultingAccepted">The engine accepted CPUID faulting for a vCPU (MSR_PLATFORM_INFO bit 31 read as set and MSR_MISC_FEATURES_ENABLES bit 0 written).</param>
/// <param name="CpuidTraps">With CPUID faulting on, a <c>cpuid</c> executed by the guest (CPL3) traps to the host, so full mode can emulate it.</param>
/// <param name="CpuidTableAnswers">With faulting off, the guest's <c>cpuid</c> of leaf 0x40000000 returns the engine's own table (ParaVirt's signature) rather than an outer hypervisor's.</param>
/// <param name="NativeCpuidSignature">The 12-byte hypervisor signature a guest's untrapped <c>cpuid</c> of leaf 0x40000000 returned (trailing NULs removed).</param>
/// <param name="RepOutswExitsPer256Words">Userspace exits one <c>rep outsw</c> of 256 words (one 512-byte sector) to an open port takes.</param>
/// <param name="RepInswExitsPer256Words">Userspace exits one <c>rep insw</c> of 256 words takes.</param>
public sealed record PlatformBehaviour(
    string CpuVendor,
    bool CpuidFaultingAccepted,
    bool CpuidTraps,
    bool CpuidTableAnswers,
    string NativeCpuidSignature,
    int RepOutswExitsPer256Words,
    int RepInswExitsPer256Words)
{
    /// <summary>The probed facts as (name, value, meaning) lines, for <c>paravirt info</c> and reports.</summary>
    public IReadOnlyList<(string Name, string Value, string Meaning)> Describe() =>
    [
        ("cpu vendor", CpuVendor, "host CPU (cpuid leaf 0)"),
        ("cpuid faulting", CpuidFaultingAccepted ? "accepted" : "refused", "the engine accepts MSR 0x140 bit 0 for a vCPU"),
        ("cpuid traps", CpuidTraps ? "yes" : "no",
            CpuidTraps ? "full mode traps and emulates cpuid" : "cpuid at CPL3 is answered natively: full mode cannot virtualize it"),
        ("cpuid table", CpuidTableAnswers ? "engine" : "outer hypervisor",
            $"an untrapped cpuid of leaf 0x40000000 reads '{NativeCpuidSignature}'"),
        ("rep outsw", $"{RepOutswExitsPer256Words} exits / 256 words", "one 512-byte sector written with string I/O"),
        ("rep insw", $"{RepInswExitsPer256Words} exits / 256 words", "one 512-byte sector read with string I/O"),
    ];
}
