namespace ParaVirt.Abi.Nvme;

/// <summary>Admin command set opcodes (NVMe 1.4, Figure 139) the controller implements.</summary>
public static class NvmeAdminOpcode
{
    /// <summary>Delete I/O Submission Queue.</summary>
    public const byte DeleteIoSubmissionQueue = 0x00;

    /// <summary>Create I/O Submission Queue.</summary>
    public const byte CreateIoSubmissionQueue = 0x01;

    /// <summary>Delete I/O Completion Queue.</summary>
    public const byte DeleteIoCompletionQueue = 0x04;

    /// <summary>Create I/O Completion Queue.</summary>
    public const byte CreateIoCompletionQueue = 0x05;

    /// <summary>Identify (CDW10.CNS selects the data structure).</summary>
    public const byte Identify = 0x06;

    /// <summary>Set Features.</summary>
    public const byte SetFeatures = 0x09;

    /// <summary>Get Features.</summary>
    public const byte GetFeatures = 0x0A;

    /// <summary>Identify CNS 00h: the namespace named by NSID.</summary>
    public const byte IdentifyNamespace = 0x00;

    /// <summary>Identify CNS 01h: the controller.</summary>
    public const byte IdentifyController = 0x01;

    /// <summary>Identify CNS 02h: the active namespace ID list.</summary>
    public const byte IdentifyActiveNamespaces = 0x02;

    /// <summary>Feature 07h: Number of Queues (CDW11/DW0: NSQ bits 15:0, NCQ bits 31:16, 0-based).</summary>
    public const byte FeatureNumberOfQueues = 0x07;

    /// <summary>Feature 06h: Volatile Write Cache (CDW11/DW0 bit 0).</summary>
    public const byte FeatureVolatileWriteCache = 0x06;
}

/// <summary>NVM command set opcodes (NVMe 1.4, Figure 346) the controller implements.</summary>
public static class NvmeIoOpcode
{
    /// <summary>Flush: make completed writes durable.</summary>
    public const byte Flush = 0x00;

    /// <summary>Write: SLBA in CDW10-11, NLB (0-based) in CDW12 bits 15:0.</summary>
    public const byte Write = 0x01;

    /// <summary>Read: SLBA in CDW10-11, NLB (0-based) in CDW12 bits 15:0.</summary>
    public const byte Read = 0x02;
}
