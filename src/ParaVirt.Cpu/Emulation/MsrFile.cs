using System.Collections.Generic;

namespace ParaVirt.Cpu.Emulation;

/// <summary>
/// The virtual model-specific registers of one VM with its grant list: a guest may read an MSR
/// only if it was granted, and write it only if it was granted writable. Values are virtual
/// (stored here, never applied to the real vCPU). Lookups allocate nothing.
/// </summary>
/// <example><code>
/// vcpu.Msrs.Grant(0xC000_0100, initialValue: 0, writable: true);   // FS_BASE, virtual
/// vcpu.Msrs.Revoke(0xC000_0080);                                    // EFER: rdmsr now faults
/// </code></example>
public sealed class MsrFile
{
    private readonly Dictionary<uint, Entry> _entries = new();

    private struct Entry
    {
        public ulong Value;
        public bool Writable;
    }

    /// <summary>Well-known MSR numbers.</summary>
    public const uint Efer = 0xC000_0080, Star = 0xC000_0081, Lstar = 0xC000_0082, Fmask = 0xC000_0084,
        FsBase = 0xC000_0100, GsBase = 0xC000_0101, KernelGsBase = 0xC000_0102, TscAux = 0xC000_0103,
        Pat = 0x277, ApicBase = 0x1B, MiscFeaturesEnables = 0x140;

    /// <summary>Creates the default grant list: EFER (read-only), STAR/LSTAR/FMASK, FS/GS/kernel-GS base, TSC_AUX and PAT (read-write).</summary>
    public MsrFile()
    {
        Grant(Efer, 0xD01, writable: false); // SCE | LME | LMA | NXE, as the platform runs the guest
        Grant(Star, 0, true);
        Grant(Lstar, 0, true);
        Grant(Fmask, 0, true);
        Grant(FsBase, 0, true);
        Grant(GsBase, 0, true);
        Grant(KernelGsBase, 0, true);
        Grant(TscAux, 0, true);
        Grant(Pat, 0x0007_0406_0007_0406, true);
    }

    /// <summary>Grants <paramref name="index"/> with <paramref name="initialValue"/>; writable or read-only.</summary>
    public void Grant(uint index, ulong initialValue, bool writable) =>
        _entries[index] = new Entry { Value = initialValue, Writable = writable };

    /// <summary>Removes <paramref name="index"/> from the grant list: accesses fault.</summary>
    public void Revoke(uint index) => _entries.Remove(index);

    /// <summary>Reads a granted MSR; false if it is not granted.</summary>
    public bool TryRead(uint index, out ulong value)
    {
        bool ok = _entries.TryGetValue(index, out Entry e);
        value = e.Value;
        return ok;
    }

    /// <summary>Writes a granted, writable MSR; false otherwise (the value is unchanged).</summary>
    public bool TryWrite(uint index, ulong value)
    {
        if (!_entries.TryGetValue(index, out Entry e) || !e.Writable)
            return false;
        e.Value = value;
        _entries[index] = e; // an existing key: no allocation
        return true;
    }
}
