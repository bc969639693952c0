namespace ParaVirt.Abi.Virtio;

/// <summary>Virtio device IDs (virtio 1.x, 5).</summary>
public enum VirtioDeviceId : uint
{
    /// <summary>Reserved (no device).</summary>
    Invalid = 0,

    /// <summary>Network card (not provided by ParaVirt yet).</summary>
    Net = 1,

    /// <summary>Block device (5.2).</summary>
    Block = 2,

    /// <summary>Console (5.3).</summary>
    Console = 3,
}
