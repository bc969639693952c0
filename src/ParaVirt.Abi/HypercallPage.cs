namespace ParaVirt.Abi;

/// <summary>
/// The hypercall page: one 4 KiB page of host-generated stubs, one per hypercall number. The guest
/// calls <c>page + number * StubSize</c>; what instruction leaves the VM is the host's business.
/// </summary>
public static class HypercallPage
{
    /// <summary>Bytes per stub (as Xen's hypercall page).</summary>
    public const uint StubSize = 32;

    /// <summary>Stubs in the page: slots 0 to 126 call hypercalls 0 to 126; slot 127 is the exit stub.</summary>
    public const uint StubCount = 4096 / StubSize;

    /// <summary>
    /// Offset of the exit stub (slot 127). The host pushes its address as the entry point's return
    /// address: an entry that returns <c>v</c> shuts the VM down with exit code <c>v</c>.
    /// Hypercall number 127 is therefore never assigned.
    /// </summary>
    public const uint ExitStubOffset = (StubCount - 1) * StubSize;
}

/// <summary>I/O ports with a fixed meaning in the ParaVirt platform.</summary>
public static class PlatformPorts
{
    /// <summary>The port a hypercall stub writes one byte to (<c>out 0xE4, al</c>; the number is in RAX). Only this one port is open to the guest in the TSS I/O bitmap: a wider access would need the next ports open too.</summary>
    public const ushort Hypercall = 0xE4;

    /// <summary>The port the ring-0 trap trampolines write to. Closed to the guest: a guest <c>out</c> to it raises #GP.</summary>
    public const ushort Trap = 0xE5;
}
