namespace ParaVirt.Abi;

/// <summary>
/// The hypervisor CPUID leaves ParaVirt answers: leaf 0x40000000 returns the highest hypervisor
/// leaf in EAX and the signature "ParaVirtHV\0\0" in EBX, ECX, EDX (little-endian ASCII, as Xen's
/// "XenVMMXenVMM" and KVM's "KVMKVMKVM\0\0\0"); leaf 0x40000001 returns <see cref="AbiVersion.Current"/> in EAX.
/// </summary>
/// <example><code>
/// bool onParaVirt = ebx == HypervisorCpuid.SignatureEbx &amp;&amp; ecx == HypervisorCpuid.SignatureEcx &amp;&amp; edx == HypervisorCpuid.SignatureEdx;
/// </code></example>
public static class HypervisorCpuid
{
    /// <summary>The signature leaf.</summary>
    public const uint SignatureLeaf = 0x4000_0000;

    /// <summary>The version leaf, the highest hypervisor leaf.</summary>
    public const uint VersionLeaf = 0x4000_0001;

    /// <summary>"Para".</summary>
    public const uint SignatureEbx = 0x6172_6150;

    /// <summary>"Virt".</summary>
    public const uint SignatureEcx = 0x7472_6956;

    /// <summary>"HV\0\0".</summary>
    public const uint SignatureEdx = 0x0000_5648;
}
