namespace ParaVirt.Abi;

/// <summary>
/// The start-info page: what the host tells a guest at entry. Its guest-physical address is
/// passed in RDI to the entry point (the first argument of the System V convention), like Xen's
/// <c>start_info</c>. The page is read-only to the guest.
/// </summary>
/// <remarks>Layout is fixed by the ABI; offsets are pinned by a test. Size: 128 bytes.</remarks>
public struct StartInfo
{
    /// <summary>The value of <see cref="Magic"/> for a valid page.</summary>
    public const ulong MagicValue = 0x0054524154535650; // "PVSTART\0" little-endian

    /// <summary>Byte offset 0: <see cref="MagicValue"/>.</summary>
    public ulong Magic;

    /// <summary>Offset 8: <see cref="ParaVirt.Abi.AbiVersion.Current"/> of the host.</summary>
    public uint AbiVersion;

    /// <summary>Offset 12: <see cref="StartFlags"/>.</summary>
    public uint Flags;

    /// <summary>Offset 16: guest address of the hypercall page.</summary>
    public ulong HypercallPage;

    /// <summary>Offset 24: bytes of guest RAM, starting at guest address 0.</summary>
    public ulong MemorySize;

    /// <summary>Offset 32: first byte of the heap the guest may use (page aligned).</summary>
    public ulong HeapStart;

    /// <summary>Offset 40: size of that heap in bytes.</summary>
    public ulong HeapSize;

    /// <summary>Offset 48: initial stack pointer (also in RSP at entry).</summary>
    public ulong StackTop;

    /// <summary>Offset 56: size of the stack in bytes, ending at <see cref="StackTop"/>.</summary>
    public ulong StackSize;

    /// <summary>Offset 64: guest address of the command line (UTF-8, not NUL-terminated), or 0.</summary>
    public ulong CommandLine;

    /// <summary>Offset 72: length of the command line in bytes.</summary>
    public uint CommandLineLength;

    /// <summary>Offset 76: reserved, zero.</summary>
    public uint Reserved0;

    /// <summary>Offset 80: first byte of the loaded image.</summary>
    public ulong ImageStart;

    /// <summary>Offset 88: one past the last byte of the loaded image, bss included.</summary>
    public ulong ImageEnd;

    /// <summary>Offset 96: guest address of the shared-info page, or 0 if the VM has none.</summary>
    public ulong SharedInfo;

    /// <summary>Offset 104: reserved, zero.</summary>
    public ulong Reserved1;

    /// <summary>Offset 112: reserved, zero.</summary>
    public ulong Reserved2;

    /// <summary>Offset 120: reserved, zero.</summary>
    public ulong Reserved3;
}

/// <summary>Bits of <see cref="StartInfo.Flags"/>.</summary>
public enum StartFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>The guest runs deprivileged (CPL3): privileged instructions trap to the host.</summary>
    Deprivileged = 1 << 0,
}
