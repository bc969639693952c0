namespace ParaVirt.Abi;

/// <summary>
/// Hypercall numbers. A number, once published, keeps its meaning forever; new calls get new
/// numbers. See docs/abi.md for each call's arguments and results.
/// </summary>
/// <remarks>
/// Register convention: the number in RAX, arguments in RDI, RSI, RDX, R10, R8, R9 (in that order),
/// the result in RAX. A negative result is a <see cref="HypercallStatus"/>.
/// A guest calls the stub at <c>StartInfo.HypercallPage + number * HypercallPage.StubSize</c>
/// with the System V calling convention; the stub moves RCX to R10 and performs the call.
/// </remarks>
public enum Hypercall : uint
{
    /// <summary>Returns <see cref="AbiVersion.Current"/>.</summary>
    GetVersion = 0,

    /// <summary>Returns feature word <c>arg0</c> (a bit set of <see cref="HypercallFeatures"/> for word 0).</summary>
    GetFeatures = 1,

    /// <summary>Does nothing and returns the VM's configured null value (0 by default). The exit floor plus dispatch.</summary>
    Null = 2,

    /// <summary>Writes <c>arg1</c> bytes at guest address <c>arg0</c> to the console; returns the count written.</summary>
    ConsoleWrite = 3,

    /// <summary>Stops the VM with exit code <c>arg0</c> and an optional reason text of <c>arg2</c> bytes at <c>arg1</c>. Does not return.</summary>
    Shutdown = 4,

    /// <summary>Runs <c>arg1</c> <see cref="MulticallEntry"/> entries at guest address <c>arg0</c> in one exit; returns the number run.</summary>
    Multicall = 5,

    /// <summary>Typed host call: a MessagePack request of <c>arg1</c> bytes at <c>arg0</c>; the response is written to <c>arg2</c>, capacity <c>arg3</c>. Returns the response length.</summary>
    HostCall = 6,

    // Numbers 7 to 15: CPU paravirtualization (docs/abi.md, "Events, timers and the PV clock"). 10 to 15 are reserved for it.

    /// <summary>Scheduling: <c>arg0</c> is a <see cref="SchedOp"/> command (yield, block until an event or the deadline <c>arg1</c> in PV clock ns, shutdown with code <c>arg1</c> and a reason of <c>arg3</c> bytes at <c>arg2</c>).</summary>
    SchedOp = 7,

    /// <summary>Arms the one-shot timer for PV clock time <c>arg0</c> (ns); 0 cancels it. A deadline already past raises <see cref="EventChannel.Timer"/> at once. Returns 0.</summary>
    SetTimer = 8,

    /// <summary>Registers the event callback at guest address <c>arg0</c> (0 unregisters): the host enters it with an interrupt frame when an event is pending and <see cref="SharedInfo.EventMask"/> is 0. Returns 0.</summary>
    SetEventCallback = 9,

    // Numbers 16 to 31: the virtio hypercall transport (docs/virtio.md). 25 to 31 are reserved for it.

    /// <summary>Virtio transport: returns the number of virtio devices of this VM (indices 0 to count - 1).</summary>
    VirtioDeviceCount = 16,

    /// <summary>Virtio transport: writes a <c>Virtio.VirtioDeviceInfo</c> (16 bytes) for device <c>arg0</c> at guest address <c>arg1</c>; returns 0.</summary>
    VirtioDeviceInfo = 17,

    /// <summary>Virtio transport: returns device <c>arg0</c>'s offered feature word <c>arg1</c> (bits 32*arg1 to 32*arg1+31).</summary>
    VirtioGetFeatures = 18,

    /// <summary>Virtio transport: sets the driver's accepted feature word <c>arg1</c> of device <c>arg0</c> to the low 32 bits of <c>arg2</c>; returns 0.</summary>
    VirtioSetFeatures = 19,

    /// <summary>Virtio transport: returns device <c>arg0</c>'s status byte (<c>Virtio.VirtioDeviceStatus</c> bits).</summary>
    VirtioGetStatus = 20,

    /// <summary>Virtio transport: writes status <c>arg1</c> to device <c>arg0</c> (0 resets it); returns the status the device then holds.</summary>
    VirtioSetStatus = 21,

    /// <summary>Virtio transport: sets up queue <c>arg1</c> of device <c>arg0</c> with its descriptor table at <c>arg2</c>, available ring at <c>arg3</c>, used ring at <c>arg4</c> and size <c>arg5</c>; returns 0.</summary>
    VirtioSetupQueue = 22,

    /// <summary>Virtio transport: notifies queue <c>arg1</c> of device <c>arg0</c>; the device processes it before the call returns and returns the number of chains it completed.</summary>
    VirtioNotify = 23,

    /// <summary>Virtio transport: copies <c>arg3</c> bytes of device <c>arg0</c>'s configuration space from offset <c>arg1</c> to guest address <c>arg2</c>; returns the count.</summary>
    VirtioReadConfig = 24,

    // Numbers 32 to 39: the paravirtual MMU (docs/memory-virtualization.md). 35 to 39 are reserved for it.

    /// <summary>
    /// Applies <c>arg1</c> <see cref="MmuUpdateEntry"/> entries at guest address <c>arg0</c>, in order, at most
    /// <see cref="MmuLimits.MaxUpdatesPerCall"/> per call. Returns the number applied (fewer than asked when the
    /// per-call budget ended: the guest calls again for the rest), or, at the first refused entry, its status;
    /// the number applied before it is written to the <c>ulong</c> at <c>arg2</c> when <c>arg2</c> is not 0.
    /// A refused entry changes nothing; entries before it stay applied.
    /// </summary>
    MmuUpdate = 32,

    /// <summary>One <see cref="MmuExtCommand"/> in <c>arg0</c> with its argument in <c>arg1</c>: pin, unpin, new base pointer, flush. Returns 0 or a status.</summary>
    MmuExtOp = 33,

    /// <summary>
    /// Registers the page-fault handler at guest address <c>arg0</c> (0 unregisters). On a page fault the host
    /// enters it with [RSP] = the faulting address (CR2), [RSP+8] = the error code, then an interrupt frame
    /// (RIP, CS, RFLAGS, RSP, SS), and sets <see cref="SharedInfo.InPageFault"/>; the handler clears it and
    /// returns with <c>add rsp, 16; iretq</c>. Returns 0.
    /// </summary>
    SetPageFaultHandler = 34,

    /// <summary>One past the highest number ABI version 0 can express (0 to 127, one stub each in the hypercall page). Hypercall tables size themselves to it.</summary>
    Limit = 128,
}

/// <summary>Feature bits returned by <see cref="Hypercall.GetFeatures"/> for word 0.</summary>
public enum HypercallFeatures : ulong
{
    /// <summary>No feature.</summary>
    None = 0,

    /// <summary><see cref="Hypercall.ConsoleWrite"/> is available.</summary>
    Console = 1UL << 0,

    /// <summary><see cref="Hypercall.Multicall"/> is available.</summary>
    Multicall = 1UL << 1,

    /// <summary><see cref="Hypercall.HostCall"/> is available.</summary>
    HostCall = 1UL << 2,

    /// <summary>The paravirtual MMU is available: <see cref="Hypercall.MmuUpdate"/>, <see cref="Hypercall.MmuExtOp"/>, <see cref="Hypercall.SetPageFaultHandler"/>.</summary>
    Mmu = 1UL << 3,
}

/// <summary>One entry of a <see cref="Hypercall.Multicall"/> list: 64 bytes, naturally aligned.</summary>
public struct MulticallEntry
{
    /// <summary>The hypercall number.</summary>
    public ulong Number;

    /// <summary>Argument 0.</summary>
    public ulong Arg0;

    /// <summary>Argument 1.</summary>
    public ulong Arg1;

    /// <summary>Argument 2.</summary>
    public ulong Arg2;

    /// <summary>Argument 3.</summary>
    public ulong Arg3;

    /// <summary>Argument 4.</summary>
    public ulong Arg4;

    /// <summary>Argument 5.</summary>
    public ulong Arg5;

    /// <summary>Written by the host: the call's result.</summary>
    public long Result;
}
