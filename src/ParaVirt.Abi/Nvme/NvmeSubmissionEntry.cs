namespace ParaVirt.Abi.Nvme;

/// <summary>
/// A submission queue entry (NVMe 1.4, §4.2): 64 bytes, little-endian. Only the fields of the
/// commands the controller implements are named; PSDT must be 0 (PRPs), FUSE 0.
/// </summary>
public struct NvmeSubmissionEntry
{
    /// <summary>Bytes per entry (CC.IOSQES = 6).</summary>
    public const int Size = 64;

    /// <summary>CDW0 bits 7:0.</summary>
    public byte Opcode;

    /// <summary>CDW0 bits 15:8: FUSE (9:8) and PSDT (15:14); must be 0.</summary>
    public byte Flags;

    /// <summary>CDW0 bits 31:16: the command identifier, echoed in the completion.</summary>
    public ushort CommandId;

    /// <summary>Namespace identifier (1 for the one namespace).</summary>
    public uint NamespaceId;

    /// <summary>CDW2-3, reserved.</summary>
    public ulong Reserved;

    /// <summary>Metadata pointer (unused: no metadata).</summary>
    public ulong MetadataPointer;

    /// <summary>PRP entry 1: the first data page (with a dword-aligned offset), or a queue's base.</summary>
    public ulong Prp1;

    /// <summary>PRP entry 2: the second page, or a PRP list pointer when more than two pages.</summary>
    public ulong Prp2;

    /// <summary>Command dword 10 (I/O: starting LBA bits 31:0; admin: QID/QSIZE, CNS, FID).</summary>
    public uint Cdw10;

    /// <summary>Command dword 11 (I/O: starting LBA bits 63:32; admin: queue flags, feature value).</summary>
    public uint Cdw11;

    /// <summary>Command dword 12 (I/O: NLB, 0-based, bits 15:0).</summary>
    public uint Cdw12;

    /// <summary>Command dword 13.</summary>
    public uint Cdw13;

    /// <summary>Command dword 14.</summary>
    public uint Cdw14;

    /// <summary>Command dword 15.</summary>
    public uint Cdw15;
}
