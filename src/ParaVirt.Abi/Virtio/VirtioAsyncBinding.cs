namespace ParaVirt.Abi.Virtio;

/// <summary>
/// The result of <see cref="Hypercall.VirtioBindAsyncQueue"/>, a non-negative value: bits 0 to 15 are
/// the queue's doorbell port (the driver writes one byte there to notify; the port is open in the
/// I/O bitmap and served in the host kernel by an ioeventfd, so the write does not exit to the
/// host's userspace), bits 16 to 21 the event channel the device raises in
/// <see cref="SharedInfo.PendingEvents"/> when it wants the driver to look at the used ring, or
/// when it set DEVICE_NEEDS_RESET.
/// </summary>
/// <example><code>
/// long r = RawHypercall.Call(Hypercall.VirtioBindAsyncQueue, dev, 0);
/// if (r &gt;= 0) { ushort port = VirtioAsyncBinding.Port(r); uint channel = VirtioAsyncBinding.Channel(r); }
/// </code></example>
public static class VirtioAsyncBinding
{
    /// <summary>The bit where the event channel starts.</summary>
    public const int ChannelShift = 16;

    /// <summary>Encodes a binding (the host's side).</summary>
    public static long Encode(ushort port, uint channel) => port | ((long)(channel & 63) << ChannelShift);

    /// <summary>The doorbell port of binding <paramref name="binding"/>.</summary>
    public static ushort Port(long binding) => (ushort)binding;

    /// <summary>The event channel of binding <paramref name="binding"/>.</summary>
    public static uint Channel(long binding) => (uint)(binding >> ChannelShift) & 63;
}
