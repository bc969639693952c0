using ParaVirt.Abi.Nvme;

namespace ParaVirt.Devices.Emulated.Nvme;

/// <summary>What a register write asks the controller to do.</summary>
internal enum NvmeRegisterEffect
{
    /// <summary>Nothing beyond storing the value (or the write was dropped).</summary>
    None,

    /// <summary>CC was written: the controller compares EN and SHN with their previous values.</summary>
    Configuration,

    /// <summary>INTMC cleared the mask: a pending interrupt may now be raised.</summary>
    InterruptUnmasked,
}

/// <summary>
/// The controller registers below the doorbells (NVMe 1.4, §3.1): CAP, VS, INTMS/INTMC, CC,
/// CSTS, AQA, ASQ, ACQ, with their access rules. A 32-bit register is accessed with 4 bytes at its
/// offset; a 64-bit one (CAP, ASQ, ACQ) with 8 bytes at its offset or 4 bytes at either half. Any
/// other access (another width, a misaligned offset, a reserved register) reads 0 and writes
/// nothing, and is counted as stray. Read-only registers ignore writes. ASQ and ACQ keep what was
/// written: bits 11:0 are reserved (the admin queues are page aligned), and the controller refuses
/// to enable with them set.
/// </summary>
internal sealed class NvmeRegisterFile
{
    /// <summary>Entries in the largest queue the controller accepts (CAP.MQES + 1).</summary>
    public const int MaxQueueEntries = 1024;

    /// <summary>CAP: MQES 1023, contiguous queues required, timeout 500 ms, doorbell stride 4, NVM command set, 4 KiB pages only.</summary>
    public const ulong Capabilities = (MaxQueueEntries - 1) | NvmeRegisters.CapContiguousQueues | (1UL << NvmeRegisters.CapTimeoutShift) | NvmeRegisters.CapNvmCommandSet;

    /// <summary>VS: NVMe 1.4.0.</summary>
    public const uint Version = 0x0001_0400;

    public uint Configuration;      // CC
    public uint Status;             // CSTS
    public uint AdminQueueAttributes; // AQA
    public ulong AdminSubmissionQueue; // ASQ
    public ulong AdminCompletionQueue; // ACQ
    public bool InterruptMasked;    // INTMS/INTMC bit 0 (the one vector)

    /// <summary>Accesses that matched no register (wrong width, misaligned, reserved).</summary>
    public long StrayAccesses;

    /// <summary>Resets the writable registers to their power-on values (a controller reset keeps AQA, ASQ, ACQ).</summary>
    public void ResetConfiguration()
    {
        Configuration = 0;
        Status = 0;
        InterruptMasked = false;
    }

    /// <summary>Reads <paramref name="size"/> bytes at <paramref name="offset"/> (below the doorbells).</summary>
    public ulong Read(ulong offset, int size)
    {
        if (size == 8)
        {
            switch (offset)
            {
                case NvmeRegisters.Cap: return Capabilities;
                case NvmeRegisters.Asq: return AdminSubmissionQueue;
                case NvmeRegisters.Acq: return AdminCompletionQueue;
            }
        }
        else if (size == 4)
        {
            switch (offset)
            {
                case NvmeRegisters.Cap: return Capabilities & 0xFFFF_FFFF;
                case NvmeRegisters.Cap + 4: return (uint)(Capabilities >> 32);
                case NvmeRegisters.Vs: return Version;
                case NvmeRegisters.Intms:
                case NvmeRegisters.Intmc: return InterruptMasked ? 1u : 0u;
                case NvmeRegisters.Cc: return Configuration;
                case NvmeRegisters.Csts: return Status;
                case NvmeRegisters.Aqa: return AdminQueueAttributes;
                case NvmeRegisters.Asq: return (uint)AdminSubmissionQueue;
                case NvmeRegisters.Asq + 4: return (uint)(AdminSubmissionQueue >> 32);
                case NvmeRegisters.Acq: return (uint)AdminCompletionQueue;
                case NvmeRegisters.Acq + 4: return (uint)(AdminCompletionQueue >> 32);
            }
        }
        StrayAccesses++;
        return 0;
    }

    /// <summary>Writes <paramref name="size"/> bytes at <paramref name="offset"/> (below the doorbells).</summary>
    public NvmeRegisterEffect Write(ulong offset, int size, ulong value)
    {
        if (size == 8)
        {
            switch (offset)
            {
                case NvmeRegisters.Cap: return NvmeRegisterEffect.None;
                case NvmeRegisters.Asq: AdminSubmissionQueue = value; return NvmeRegisterEffect.None;
                case NvmeRegisters.Acq: AdminCompletionQueue = value; return NvmeRegisterEffect.None;
            }
        }
        else if (size == 4)
        {
            uint v = (uint)value;
            switch (offset)
            {
                case NvmeRegisters.Cap:
                case NvmeRegisters.Cap + 4:
                case NvmeRegisters.Vs:
                case NvmeRegisters.Csts:
                    return NvmeRegisterEffect.None; // read-only
                case NvmeRegisters.Intms:
                    if ((v & 1) != 0)
                        InterruptMasked = true;
                    return NvmeRegisterEffect.None;
                case NvmeRegisters.Intmc:
                    if ((v & 1) != 0 && InterruptMasked)
                    {
                        InterruptMasked = false;
                        return NvmeRegisterEffect.InterruptUnmasked;
                    }
                    return NvmeRegisterEffect.None;
                case NvmeRegisters.Cc:
                    Configuration = v;
                    return NvmeRegisterEffect.Configuration;
                case NvmeRegisters.Aqa: AdminQueueAttributes = v & 0x0FFF_0FFF; return NvmeRegisterEffect.None;
                case NvmeRegisters.Asq: AdminSubmissionQueue = (AdminSubmissionQueue & 0xFFFF_FFFF_0000_0000) | v; return NvmeRegisterEffect.None;
                case NvmeRegisters.Asq + 4: AdminSubmissionQueue = (AdminSubmissionQueue & 0xFFFF_FFFF) | ((ulong)v << 32); return NvmeRegisterEffect.None;
                case NvmeRegisters.Acq: AdminCompletionQueue = (AdminCompletionQueue & 0xFFFF_FFFF_0000_0000) | v; return NvmeRegisterEffect.None;
                case NvmeRegisters.Acq + 4: AdminCompletionQueue = (AdminCompletionQueue & 0xFFFF_FFFF) | ((ulong)v << 32); return NvmeRegisterEffect.None;
            }
        }
        StrayAccesses++;
        return NvmeRegisterEffect.None;
    }
}
