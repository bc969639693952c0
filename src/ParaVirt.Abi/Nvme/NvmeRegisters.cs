namespace ParaVirt.Abi.Nvme;

/// <summary>
/// The emulated NVMe controller's register window (NVMe base specification 1.4, §3.1) as full
/// mode's platform places it, and the register bits both the device and the guest driver use.
/// The window sits in the platform's MMIO window (0xC0000000-0xFFFFFFFF, no memory slot: every
/// access exits as MMIO), where a PC's firmware puts PCI BARs.
/// </summary>
/// <example><code>
/// ulong bar = NvmeRegisters.BarBase;
/// Mmio.Write32(bar + NvmeRegisters.Aqa, (31u &lt;&lt; 16) | 31u);       // 32-entry admin queues
/// Mmio.Write64(bar + NvmeRegisters.Asq, asq);
/// Mmio.Write32(bar + NvmeRegisters.SubmissionTailDoorbell(1), tail);  // one exit per batch
/// </code></example>
public static class NvmeRegisters
{
    /// <summary>Guest-physical base of the controller's register window (BAR0).</summary>
    public const ulong BarBase = 0xFEB0_0000;

    /// <summary>Bytes in the register window (16 KiB, as QEMU's controller).</summary>
    public const ulong BarSize = 0x4000;

    /// <summary>Controller Capabilities (64-bit, read-only).</summary>
    public const ulong Cap = 0x00;

    /// <summary>Version (32-bit, read-only).</summary>
    public const ulong Vs = 0x08;

    /// <summary>Interrupt Mask Set (32-bit).</summary>
    public const ulong Intms = 0x0C;

    /// <summary>Interrupt Mask Clear (32-bit).</summary>
    public const ulong Intmc = 0x10;

    /// <summary>Controller Configuration (32-bit).</summary>
    public const ulong Cc = 0x14;

    /// <summary>Controller Status (32-bit, read-only).</summary>
    public const ulong Csts = 0x1C;

    /// <summary>Admin Queue Attributes (32-bit): ASQS bits 11:0, ACQS bits 27:16, both 0-based.</summary>
    public const ulong Aqa = 0x24;

    /// <summary>Admin Submission Queue base address (64-bit, page aligned).</summary>
    public const ulong Asq = 0x28;

    /// <summary>Admin Completion Queue base address (64-bit, page aligned).</summary>
    public const ulong Acq = 0x30;

    /// <summary>First doorbell register.</summary>
    public const ulong DoorbellBase = 0x1000;

    /// <summary>Bytes between doorbells (CAP.DSTRD = 0: 4 bytes).</summary>
    public const ulong DoorbellStride = 4;

    /// <summary>Offset of submission queue <paramref name="queueId"/>'s tail doorbell.</summary>
    public static ulong SubmissionTailDoorbell(uint queueId) => DoorbellBase + 2 * queueId * DoorbellStride;

    /// <summary>Offset of completion queue <paramref name="queueId"/>'s head doorbell.</summary>
    public static ulong CompletionHeadDoorbell(uint queueId) => DoorbellBase + (2 * queueId + 1) * DoorbellStride;

    /// <summary>The memory page size the controller supports (CAP.MPSMIN = CAP.MPSMAX = 0: 4 KiB).</summary>
    public const ulong PageSize = 4096;

    /// <summary>The interrupt line (full mode: vector 0x20 + line) of the controller's single pin-based vector.</summary>
    public const int InterruptLine = 11;

    /// <summary>CAP.MQES: bits 15:0, the largest queue size minus one.</summary>
    public const ulong CapMqesMask = 0xFFFF;

    /// <summary>CAP.CQR: physically contiguous queues required.</summary>
    public const ulong CapContiguousQueues = 1UL << 16;

    /// <summary>CAP.TO: bits 31:24, worst-case time to ready in 500 ms units.</summary>
    public const int CapTimeoutShift = 24;

    /// <summary>CAP.DSTRD: bits 35:32, doorbell stride (4 &lt;&lt; DSTRD bytes).</summary>
    public const int CapDoorbellStrideShift = 32;

    /// <summary>CAP.CSS bit 37: the NVM command set.</summary>
    public const ulong CapNvmCommandSet = 1UL << 37;

    /// <summary>CC.EN: enable.</summary>
    public const uint CcEnable = 1;

    /// <summary>CC.CSS: bits 6:4, the I/O command set (0 = NVM).</summary>
    public const int CcCssShift = 4;

    /// <summary>CC.MPS: bits 10:7, memory page size 2^(12 + MPS).</summary>
    public const int CcMpsShift = 7;

    /// <summary>CC.AMS: bits 13:11, arbitration (0 = round robin).</summary>
    public const int CcAmsShift = 11;

    /// <summary>CC.SHN: bits 15:14, shutdown notification (01b normal, 10b abrupt).</summary>
    public const int CcShnShift = 14;

    /// <summary>CC.IOSQES: bits 19:16, I/O submission queue entry size 2^n (6: 64 bytes).</summary>
    public const int CcIosqesShift = 16;

    /// <summary>CC.IOCQES: bits 23:20, I/O completion queue entry size 2^n (4: 16 bytes).</summary>
    public const int CcIocqesShift = 20;

    /// <summary>What a driver writes to CC to enable the controller: NVM command set, 4 KiB pages, round robin, 64-byte SQ and 16-byte CQ entries.</summary>
    public const uint CcEnableValue = CcEnable | (6u << CcIosqesShift) | (4u << CcIocqesShift);

    /// <summary>CSTS.RDY: the controller processes commands.</summary>
    public const uint CstsReady = 1;

    /// <summary>CSTS.CFS: controller fatal status; only a reset (CC.EN to 0) clears it.</summary>
    public const uint CstsFatal = 2;

    /// <summary>CSTS.SHST: bits 3:2, shutdown status (00b normal, 01b occurring, 10b complete).</summary>
    public const int CstsShstShift = 2;

    /// <summary>CSTS.SHST = 10b: shutdown complete.</summary>
    public const uint CstsShutdownComplete = 2u << CstsShstShift;
}
