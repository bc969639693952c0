using ParaVirt.Abi.Virtio;

namespace ParaVirt.Guest.Virtio;

/// <summary>
/// The doorbell of a queue on the asynchronous transport (<see cref="VirtioHypercalls.BindAsyncQueue"/>):
/// a one-byte <c>out</c> to the port the host gave. The port is open in the TSS I/O bitmap, so the
/// instruction is legal at CPL3 and not privileged; on KVM an ioeventfd completes it inside the
/// host kernel and wakes the device thread, with no exit to the host's userspace.
/// </summary>
/// <remarks>
/// A port rather than an MMIO store: the port ioeventfd is the one the engine offers and measured
/// (0.11x a userspace exit on the AMD host); KVM matches it from the exit's port and size alone,
/// where an MMIO doorbell would take the nested MMU's fault path and an instruction decode first
/// (docs/virtio.md, "The asynchronous transport").
/// </remarks>
/// <example><code>
/// long r = VirtioHypercalls.BindAsyncQueue(dev, 0);
/// var bell = new VirtioDoorbell(VirtioAsyncBinding.Port(r), VirtioAsyncBinding.Channel(r));
/// bell.Ring();   // no exit
/// </code></example>
public sealed unsafe class VirtioDoorbell
{
    private static delegate* unmanaged<uint, void> s_out;

    /// <summary>Creates the doorbell of binding <paramref name="binding"/> (a non-negative result of the bind call).</summary>
    public VirtioDoorbell(long binding)
    {
        Port = VirtioAsyncBinding.Port(binding);
        Channel = VirtioAsyncBinding.Channel(binding);
        if (s_out == null)
        {
            byte* stub = CodeBuffer.Allocate(4);
            CodeBuffer.Emit(stub, [0x89, 0xFA, 0xEE, 0xC3]); // mov edx, edi; out dx, al; ret
            s_out = (delegate* unmanaged<uint, void>)stub;
        }
    }

    /// <summary>The doorbell port.</summary>
    public ushort Port { get; }

    /// <summary>The event channel the device raises.</summary>
    public uint Channel { get; }

    /// <summary>Times the doorbell was rung.</summary>
    public long Rings { get; private set; }

    /// <summary>Rings the doorbell: one <c>out</c>, no exit to the host's userspace on KVM.</summary>
    public void Ring()
    {
        Rings++;
        s_out(Port);
    }
}
