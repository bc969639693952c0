using System.Runtime.InteropServices;
using ParaVirt.Abi.Virtio;

namespace ParaVirt.Virtio;

/// <summary>
/// One buffer of a <see cref="DescriptorChain"/>: a validated copy of a descriptor. Its range
/// [<see cref="Address"/>, <see cref="Address"/> + <see cref="Length"/>) lay inside one guest memory
/// region when the chain was popped, and the copy does not change if the guest rewrites the
/// descriptor afterwards.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct VirtqBuffer
{
    /// <summary>Creates a buffer description.</summary>
    public VirtqBuffer(ulong address, uint length, bool isWriteOnly)
    {
        Address = address;
        Length = length;
        IsWriteOnly = isWriteOnly;
    }

    /// <summary>Guest-physical address of the buffer.</summary>
    public ulong Address { get; }

    /// <summary>Length in bytes.</summary>
    public uint Length { get; }

    /// <summary>True for a device-writable buffer (<see cref="VirtqDescFlags.Write"/>), false for a device-readable one.</summary>
    public bool IsWriteOnly { get; }
}
