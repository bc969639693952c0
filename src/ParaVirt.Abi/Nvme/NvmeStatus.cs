namespace ParaVirt.Abi.Nvme;

/// <summary>
/// Completion status values (NVMe 1.4, §4.6.1): the 15-bit Status Field of a completion entry,
/// as <see cref="NvmeCompletionEntry.StatusAndPhase"/> holds it shifted left by one above the phase tag:
/// bits 7:0 Status Code, bits 10:8 Status Code Type. DNR (bit 14) is set on every error: the
/// emulated controller never succeeds on a retry of the same command.
/// </summary>
public static class NvmeStatus
{
    /// <summary>Successful completion.</summary>
    public const ushort Success = 0x0000;

    /// <summary>Do Not Retry.</summary>
    public const ushort DoNotRetry = 0x4000;

    /// <summary>Generic: Invalid Command Opcode.</summary>
    public const ushort InvalidOpcode = 0x01 | DoNotRetry;

    /// <summary>Generic: Invalid Field in Command (a reserved value, a size or PRP the controller cannot use).</summary>
    public const ushort InvalidField = 0x02 | DoNotRetry;

    /// <summary>Generic: Command ID Conflict (the ID is still in use in this submission queue).</summary>
    public const ushort CommandIdConflict = 0x03 | DoNotRetry;

    /// <summary>Generic: Data Transfer Error (the host's data buffer or the disk failed).</summary>
    public const ushort DataTransferError = 0x04 | DoNotRetry;

    /// <summary>Generic: Internal Error (the host could not complete the operation).</summary>
    public const ushort InternalError = 0x06 | DoNotRetry;

    /// <summary>Generic: Invalid Namespace or Format.</summary>
    public const ushort InvalidNamespace = 0x0B | DoNotRetry;

    /// <summary>Generic: PRP Offset Invalid (a PRP entry or list pointer with a forbidden offset).</summary>
    public const ushort PrpOffsetInvalid = 0x13 | DoNotRetry;

    /// <summary>Generic (I/O): LBA Out of Range.</summary>
    public const ushort LbaOutOfRange = 0x80 | DoNotRetry;

    /// <summary>Status Code Type 1 (command specific), shifted into place.</summary>
    public const ushort CommandSpecific = 1 << 8;

    /// <summary>Command specific: Completion Queue Invalid.</summary>
    public const ushort CompletionQueueInvalid = CommandSpecific | 0x00 | DoNotRetry;

    /// <summary>Command specific: Invalid Queue Identifier.</summary>
    public const ushort InvalidQueueIdentifier = CommandSpecific | 0x01 | DoNotRetry;

    /// <summary>Command specific: Invalid Queue Size.</summary>
    public const ushort InvalidQueueSize = CommandSpecific | 0x02 | DoNotRetry;

    /// <summary>Command specific: Invalid Interrupt Vector.</summary>
    public const ushort InvalidInterruptVector = CommandSpecific | 0x08 | DoNotRetry;

    /// <summary>Command specific: Invalid Queue Deletion (a completion queue that submission queues still use).</summary>
    public const ushort InvalidQueueDeletion = CommandSpecific | 0x0C | DoNotRetry;

    /// <summary>Generic: Namespace is Write Protected (a Write to a read-only disk image).</summary>
    public const ushort WriteProtected = 0x20 | DoNotRetry;

    /// <summary>The status code type and code without DNR/More/CRD: what a driver compares.</summary>
    public static ushort CodeOf(ushort status) => (ushort)(status & 0x7FF);
}
