namespace ParaVirt.Abi.Nvme;

/// <summary>Byte offsets of the Identify data fields the controller fills and a minimal driver reads (NVMe 1.4, Figures 247 and 249). Each structure is 4096 bytes.</summary>
public static class NvmeIdentifyLayout
{
    /// <summary>Bytes of one Identify data structure.</summary>
    public const int Size = 4096;

    /// <summary>Controller: PCI vendor ID (2 bytes).</summary>
    public const int ControllerVendorId = 0;

    /// <summary>Controller: serial number, 20 ASCII bytes, space padded.</summary>
    public const int ControllerSerial = 4;

    /// <summary>Controller: model number, 40 ASCII bytes, space padded.</summary>
    public const int ControllerModel = 24;

    /// <summary>Controller: firmware revision, 8 ASCII bytes.</summary>
    public const int ControllerFirmware = 64;

    /// <summary>Controller: MDTS (1 byte), the largest transfer as a power of two of the page size.</summary>
    public const int ControllerMaxTransfer = 77;

    /// <summary>Controller: controller ID (2 bytes).</summary>
    public const int ControllerId = 78;

    /// <summary>Controller: version (4 bytes, as the VS register).</summary>
    public const int ControllerVersion = 80;

    /// <summary>Controller: SQES (1 byte): required (3:0) and largest (7:4) SQ entry size, as powers of two.</summary>
    public const int ControllerSqEntrySizes = 512;

    /// <summary>Controller: CQES (1 byte).</summary>
    public const int ControllerCqEntrySizes = 513;

    /// <summary>Controller: NN (4 bytes), the number of namespaces.</summary>
    public const int ControllerNamespaceCount = 516;

    /// <summary>Controller: VWC (1 byte), bit 0 a volatile write cache is present (Flush is meaningful).</summary>
    public const int ControllerVolatileWriteCache = 525;

    /// <summary>Namespace: NSZE (8 bytes), size in logical blocks.</summary>
    public const int NamespaceSize = 0;

    /// <summary>Namespace: NCAP (8 bytes), capacity in logical blocks.</summary>
    public const int NamespaceCapacity = 8;

    /// <summary>Namespace: NUSE (8 bytes), blocks in use.</summary>
    public const int NamespaceUtilization = 16;

    /// <summary>Namespace: NLBAF (1 byte), the number of LBA formats minus one.</summary>
    public const int NamespaceFormatCount = 25;

    /// <summary>Namespace: FLBAS (1 byte), bits 3:0 the format in use.</summary>
    public const int NamespaceFormattedLbaSize = 26;

    /// <summary>Namespace: LBA format 0 (4 bytes): bits 23:16 LBADS, the block size as a power of two.</summary>
    public const int NamespaceLbaFormat0 = 128;
}
