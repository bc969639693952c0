namespace ParaVirt.Guest.Drivers;

/// <summary>
/// Status codes of the guest drivers (a guest has no exceptions). Zero or positive is success;
/// negative is an error. Driver errors start at -64 so that they never collide with a
/// <see cref="ParaVirt.Abi.HypercallStatus"/> (-1 to -9), which the virtio drivers pass through
/// unchanged when a transport hypercall fails.
/// </summary>
/// <example><code>
/// int status = disk.Write(lba, 8, buffer);
/// if (status &lt; 0) { Console.Write(DriverStatus.Describe(status)); return status; }
/// </code></example>
public static class DriverStatus
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>A status register never reached the expected state within the poll limit.</summary>
    public const int Timeout = -64;

    /// <summary>The device reported an error (ATA ERR or DF bit, virtio-blk status not OK, an NVMe completion status other than success).</summary>
    public const int DeviceError = -65;

    /// <summary>No such device (no virtio device of that ID, ATA status floating at 00h or FFh).</summary>
    public const int NoDevice = -66;

    /// <summary>A request outside the device (LBA past the end, more than the 28-bit range).</summary>
    public const int OutOfRange = -67;

    /// <summary>The device failed its self test (UART loopback echo wrong) or could not start (NVMe CSTS.CFS on enable).</summary>
    public const int Faulty = -68;

    /// <summary>An argument the driver refuses (count 0 or too large, null buffer).</summary>
    public const int BadArgument = -69;

    /// <summary>The device refused the feature set (FEATURES_OK did not stick).</summary>
    public const int FeaturesRejected = -70;

    /// <summary>No room: every request slot or descriptor is in flight.</summary>
    public const int QueueFull = -71;

    /// <summary>The device broke the ring protocol (a used id out of range or not in flight, used index running ahead, an NVMe completion for a command not in flight).</summary>
    public const int BadRing = -72;

    /// <summary>The device needs a reset (virtio DEVICE_NEEDS_RESET, NVMe CSTS.CFS).</summary>
    public const int NeedsReset = -73;

    /// <summary>The device lacks something the driver needs (VERSION_1, a big enough queue).</summary>
    public const int Unsupported = -74;

    /// <summary>A short name for <paramref name="status"/>, for console messages.</summary>
    public static string Describe(int status) => status switch
    {
        Ok => "ok",
        Timeout => "timeout",
        DeviceError => "device error",
        NoDevice => "no device",
        OutOfRange => "out of range",
        Faulty => "device faulty",
        BadArgument => "bad argument",
        FeaturesRejected => "features rejected",
        QueueFull => "queue full",
        BadRing => "bad ring",
        NeedsReset => "device needs reset",
        Unsupported => "unsupported device",
        -1 => "unknown hypercall",
        -2 => "hypercall denied",
        -3 => "invalid argument",
        -4 => "bad address",
        -5 => "too large",
        -6 => "host I/O error",
        -7 => "not permitted",
        -8 => "not found",
        -9 => "host failure",
        _ => "error",
    };
}
