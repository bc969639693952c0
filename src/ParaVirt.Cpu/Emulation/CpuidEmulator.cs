using System.Collections.Generic;
using System.Runtime.Intrinsics.X86;
using ParaVirt.Abi;

namespace ParaVirt.Cpu.Emulation;

/// <summary>
/// Answers <c>cpuid</c> for a full-mode guest once CPUID faulting makes it trap (MSR 0x140 bit 0,
/// set on the vCPU through KVM). Basic and extended leaves come from the host CPU with the
/// hypervisor bit set and VMX, MONITOR/MWAIT hidden; the hypervisor leaves 0x40000000-0x40000001
/// carry ParaVirt's signature and ABI version. Every leaf past the highest of its range, and every
/// leaf outside the three ranges, reads as zeros. In-range answers are cached per (leaf, subleaf),
/// up to a bound.
/// </summary>
internal sealed class CpuidEmulator
{
    /// <summary>The hypervisor range's first and last leaf.</summary>
    public const uint HypervisorBase = HypervisorCpuid.SignatureLeaf, HypervisorMax = HypervisorCpuid.VersionLeaf;

    private readonly Dictionary<ulong, (uint Eax, uint Ebx, uint Ecx, uint Edx)> _cache = new();
    private readonly uint _maxBasic, _maxExtended;

    public CpuidEmulator()
    {
        if (X86Base.IsSupported)
        {
            _maxBasic = (uint)X86Base.CpuId(0, 0).Eax;
            _maxExtended = (uint)X86Base.CpuId(unchecked((int)0x8000_0000), 0).Eax;
        }
    }

    /// <summary>The answer for <paramref name="leaf"/>/<paramref name="subleaf"/>.</summary>
    public (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint subleaf)
    {
        if (!InRange(leaf))
            return (0, 0, 0, 0); // out of range: a defined answer, zeros, and nothing cached
        ulong key = ((ulong)leaf << 32) | subleaf;
        if (_cache.TryGetValue(key, out var cached))
            return cached;
        var answer = Compute(leaf, subleaf);
        // Invariant: the guest picks leaf and subleaf, so the cache is bounded; past the bound an
        // answer is computed each time (a host cpuid) instead of growing host memory.
        if (_cache.Count < MaxCachedAnswers)
            _cache[key] = answer;
        return answer;
    }

    /// <summary>The most (leaf, subleaf) answers kept.</summary>
    public const int MaxCachedAnswers = 1024;

    /// <summary>Answers cached so far (at most <see cref="MaxCachedAnswers"/>).</summary>
    public int CachedAnswers => _cache.Count;

    private bool InRange(uint leaf) =>
        leaf is HypervisorBase or HypervisorMax ||
        (X86Base.IsSupported && (leaf <= _maxBasic || (leaf >= 0x8000_0000 && leaf <= _maxExtended)));

    private (uint, uint, uint, uint) Compute(uint leaf, uint subleaf)
    {
        if (leaf == HypervisorBase)
            return (HypervisorMax, HypervisorCpuid.SignatureEbx, HypervisorCpuid.SignatureEcx, HypervisorCpuid.SignatureEdx);
        if (leaf == HypervisorMax)
            return (AbiVersion.Current, 0, 0, 0);
        bool basic = leaf <= _maxBasic;
        bool extended = leaf >= 0x8000_0000 && leaf <= _maxExtended;
        if (!X86Base.IsSupported || !(basic || extended))
            return (0, 0, 0, 0); // out of range: a defined answer, zeros
        var (a, b, c, d) = X86Base.CpuId(unchecked((int)leaf), unchecked((int)subleaf));
        uint eax = (uint)a, ebx = (uint)b, ecx = (uint)c, edx = (uint)d;
        if (leaf == 1)
        {
            ecx |= 1u << 31;               // running under a hypervisor
            ecx &= ~((1u << 5) | (1u << 3)); // no VMX, no MONITOR/MWAIT
        }
        return (eax, ebx, ecx, edx);
    }
}
