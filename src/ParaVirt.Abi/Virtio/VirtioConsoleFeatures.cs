namespace ParaVirt.Abi.Virtio;

/// <summary>virtio-console feature bit numbers (virtio 1.x, 5.3.3). ParaVirt offers none of them yet: one port, no resize.</summary>
public static class VirtioConsoleFeatures
{
    /// <summary><c>VIRTIO_CONSOLE_F_SIZE</c>: <see cref="VirtioConsoleConfig.Cols"/> and <see cref="VirtioConsoleConfig.Rows"/> are valid.</summary>
    public const int Size = 0;

    /// <summary><c>VIRTIO_CONSOLE_F_MULTIPORT</c>: control queues and more than one port.</summary>
    public const int Multiport = 1;

    /// <summary><c>VIRTIO_CONSOLE_F_EMERG_WRITE</c>: <see cref="VirtioConsoleConfig.EmergWrite"/> works.</summary>
    public const int EmergWrite = 2;
}
