namespace ParaVirt.Abi.Virtio;

/// <summary>
/// The virtio-console configuration space (virtio 1.x, 5.3.4 <c>struct virtio_console_config</c>):
/// 12 bytes. Port 0 uses queue <see cref="ReceiveQueue"/> (host to guest) and queue
/// <see cref="TransmitQueue"/> (guest to host).
/// </summary>
public struct VirtioConsoleConfig
{
    /// <summary>Bytes of this structure.</summary>
    public const int Size = 12;

    /// <summary>Queue index of port 0's receiveq (the device fills guest buffers with console input).</summary>
    public const uint ReceiveQueue = 0;

    /// <summary>Queue index of port 0's transmitq (the device reads guest buffers and prints them).</summary>
    public const uint TransmitQueue = 1;

    /// <summary>Offset 0: console columns (valid with <see cref="VirtioConsoleFeatures.Size"/>).</summary>
    public ushort Cols;

    /// <summary>Offset 2: console rows (valid with <see cref="VirtioConsoleFeatures.Size"/>).</summary>
    public ushort Rows;

    /// <summary>Offset 4: most ports (valid with <see cref="VirtioConsoleFeatures.Multiport"/>).</summary>
    public uint MaxNrPorts;

    /// <summary>Offset 8: emergency write register (valid with <see cref="VirtioConsoleFeatures.EmergWrite"/>).</summary>
    public uint EmergWrite;
}
