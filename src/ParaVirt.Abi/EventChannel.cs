namespace ParaVirt.Abi;

/// <summary>
/// Event channels: bit numbers in <see cref="SharedInfo.PendingEvents"/>. A para guest's virtual
/// interrupts. Channel 0 is the one-shot timer of <see cref="Hypercall.SetTimer"/>; channels 1 to
/// 63 are device completions a host assigns.
/// </summary>
public enum EventChannel : uint
{
    /// <summary>The one-shot timer fired.</summary>
    Timer = 0,

    /// <summary>The first channel a host may assign to a device.</summary>
    FirstDevice = 1,

    /// <summary>One past the last channel (64 bits of <see cref="SharedInfo.PendingEvents"/>).</summary>
    Limit = 64,
}
