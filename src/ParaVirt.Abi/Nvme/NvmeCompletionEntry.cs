namespace ParaVirt.Abi.Nvme;

/// <summary>
/// A completion queue entry (NVMe 1.4, §4.6): 16 bytes, little-endian. The controller writes
/// dwords 0-2 first and dword 3 (command ID, phase, status) last, so a driver that sees the phase
/// bit flip sees the whole entry.
/// </summary>
public struct NvmeCompletionEntry
{
    /// <summary>Bytes per entry (CC.IOCQES = 4).</summary>
    public const int Size = 16;

    /// <summary>Dword 0: command specific (Set/Get Features: the value).</summary>
    public uint Result;

    /// <summary>Dword 1, reserved.</summary>
    public uint Reserved;

    /// <summary>Dword 2 bits 15:0: the submission queue head after this command was fetched.</summary>
    public ushort SubmissionQueueHead;

    /// <summary>Dword 2 bits 31:16: the submission queue the command came from.</summary>
    public ushort SubmissionQueueId;

    /// <summary>Dword 3 bits 15:0: the command identifier.</summary>
    public ushort CommandId;

    /// <summary>Dword 3 bits 31:16: bit 0 the phase tag, bits 15:1 the status field (<see cref="NvmeStatus"/> shifted left by one).</summary>
    public ushort StatusAndPhase;

    /// <summary>The phase tag bit of <see cref="StatusAndPhase"/>.</summary>
    public const ushort PhaseBit = 1;
}
