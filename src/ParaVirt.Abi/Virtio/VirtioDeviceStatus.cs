namespace ParaVirt.Abi.Virtio;

/// <summary>
/// Device status bits (virtio 1.x, 2.1). The driver sets ACKNOWLEDGE, DRIVER, FEATURES_OK and
/// DRIVER_OK in that order; writing 0 resets the device. See docs/virtio.md.
/// </summary>
public static class VirtioDeviceStatus
{
    /// <summary>The guest found the device.</summary>
    public const byte Acknowledge = 1;

    /// <summary>The guest knows how to drive the device.</summary>
    public const byte Driver = 2;

    /// <summary>The driver is set up and ready to drive the device.</summary>
    public const byte DriverOk = 4;

    /// <summary>Feature negotiation is complete (the device keeps it only if it accepted the driver's features).</summary>
    public const byte FeaturesOk = 8;

    /// <summary>Set by the device: it met an error (a guest ring violation) and needs a reset.</summary>
    public const byte DeviceNeedsReset = 64;

    /// <summary>The guest gave up on the device.</summary>
    public const byte Failed = 128;
}
