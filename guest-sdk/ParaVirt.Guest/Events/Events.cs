using Internal.Runtime;
using ParaVirt.Abi;

namespace ParaVirt.Guest;

/// <summary>
/// Virtual interrupts in both flavours. Full: a virtual IDT (loaded with <c>lidt</c>, which traps)
/// whose gates for vectors 0x20-0x2F point at <see cref="InterruptStubs"/>; the host delivers
/// IRQ n (PIT IRQ0 = 0x20) through it when the virtual IF is set. Para: an event callback
/// registered with <see cref="Hypercall.SetEventCallback"/>; the host enters it when events are
/// pending and <see cref="SharedInfo.EventMask"/> is 0, and the guest also picks pending events up
/// itself after unmasking or blocking (<see cref="DispatchPending"/>).
/// </summary>
/// <example><code>
/// Events.Install();
/// ulong before = Events.TimerEvents;
/// Timer.Sleep(100_000);           // returns after the timer interrupt/event arrived
/// </code></example>
public static unsafe class Events
{
    private const int FirstVector = 0x20, Vectors = 16;
    private static bool s_installed;
    private static ulong s_timerEvents;
    private static ulong s_otherEvents;
    private static ulong s_deviceChannels; // para: device channels taken from the page; full: IRQ lines delivered; not yet claimed by TakeChannel
#if !PARAVIRT_PARA
    private static byte* s_idt;
#endif

    /// <summary>Timer interrupts (full: IRQ0) or timer events (para: channel 0) seen so far.</summary>
    public static ulong TimerEvents => s_timerEvents;

    /// <summary>Other interrupts or events seen so far.</summary>
    public static ulong OtherEvents => s_otherEvents;

    /// <summary>The shared-info page (para state: event mask and pending events).</summary>
    public static SharedInfo* Shared => (SharedInfo*)GuestEnvironment.StartInfo->SharedInfo;

    /// <summary>Sets up interrupt delivery once: the virtual IDT (full) or the event callback (para).</summary>
    public static void Install()
    {
        if (s_installed)
            return;
        s_installed = true;
#if PARAVIRT_PARA
        byte* stub = InterruptStubs.Build(0, &OnEventCallback, GuestEnvironment.StartInfo->SharedInfo);
        RawHypercall.Call(Hypercall.SetEventCallback, (ulong)stub);
#else
        byte[] table = new byte[256 * 16 + 16];
        fixed (byte* t = table)
            s_idt = (byte*)(((ulong)t + 15) & ~15UL);
        for (int v = 0; v < Vectors; v++)
            SetGate((uint)(FirstVector + v), InterruptStubs.Build((uint)(FirstVector + v), &OnInterrupt, 0));
        byte* pseudo = stackalloc byte[16];
        *(ushort*)pseudo = 256 * 16 - 1;
        *(ulong*)(pseudo + 2) = (ulong)s_idt;
        byte* lidt = CodeBuffer.Allocate(4);
        CodeBuffer.Emit(lidt, [0x0F, 0x01, 0x1F, 0xC3]); // lidt [rdi]; ret
        ((delegate* unmanaged<byte*, void>)lidt)(pseudo);
#endif
    }

#if !PARAVIRT_PARA
    internal static void SetGate(uint vector, byte* handler)
    {
        byte* g = s_idt + vector * 16;
        ulong h = (ulong)handler;
        *(ushort*)g = (ushort)h;
        *(ushort*)(g + 2) = 0x23;          // the guest's code selector
        g[4] = 0;
        g[5] = 0x80 | 0x60 | 0xE;          // present, DPL3, 64-bit interrupt gate
        *(ushort*)(g + 6) = (ushort)(h >> 16);
        *(uint*)(g + 8) = (uint)(h >> 32);
        *(uint*)(g + 12) = 0;
    }
#endif

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void OnInterrupt(ulong vector)
    {
        if (vector == FirstVector)
        {
            s_timerEvents++;
            return;
        }
        s_otherEvents++;
        // Invariant: this handler runs with interrupts off (interrupt gates) and TakeChannel's
        // read-clear runs with interrupts off too, so neither can interleave with the other.
        s_deviceChannels |= 1UL << (int)((vector - FirstVector) & 63);
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void OnEventCallback(ulong unused) => DispatchPending();

    /// <summary>Para: takes every pending event from the shared-info page and counts it (events stay masked meanwhile). Full: nothing.</summary>
    public static void DispatchPending()
    {
        SharedInfo* s = Shared;
        // Invariant: the host writes the page only while this vCPU is out of the guest, so this
        // read-clear needs no atomic instruction.
        while (s->EventPending != 0)
        {
            s->EventPending = 0;
            ulong pending = s->PendingEvents;
            s->PendingEvents = 0;
            if ((pending & (1UL << (int)EventChannel.Timer)) != 0)
                s_timerEvents++;
            if ((pending & ~(1UL << (int)EventChannel.Timer)) != 0)
                s_otherEvents++;
            s_deviceChannels |= pending & ~(1UL << (int)EventChannel.Timer);
        }
    }

    /// <summary>
    /// Para: whether device event channel <paramref name="channel"/> was raised since the last call,
    /// and forgets it. Takes every pending event from the shared-info page first (as
    /// <see cref="DispatchPending"/>, with events masked meanwhile), so a block in
    /// <see cref="SchedOp.Block"/> that follows does not return at once for an event already seen.
    /// No exit. Full: whether IRQ line <paramref name="channel"/> (vector 0x20 + line) was delivered
    /// since the last call, and forgets it; call it with interrupts off (the kernel's normal state
    /// between waits). No exit.
    /// </summary>
    public static bool TakeChannel(uint channel)
    {
#if PARAVIRT_PARA
        SharedInfo* s = Shared;
        byte mask = s->EventMask;
        s->EventMask = 1; // the callback must not interleave with this read-clear of our own state
        DispatchPending();
        ulong bit = 1UL << (int)(channel & 63);
        bool raised = (s_deviceChannels & bit) != 0;
        s_deviceChannels &= ~bit;
        s->EventMask = mask;
        return raised;
#else
        ulong bit = 1UL << (int)(channel & 63);
        bool raised = (s_deviceChannels & bit) != 0;
        s_deviceChannels &= ~bit;
        return raised;
#endif
    }

#if !PARAVIRT_PARA
    /// <summary>
    /// Full: sleeps until IRQ line <paramref name="line"/> has been delivered through the virtual IDT
    /// (at once if it was delivered since the last <see cref="TakeChannel"/>), as a kernel's idle
    /// loop does: interrupts off for the check, <c>sti; hlt</c> to sleep (the sti shadow covers the
    /// hlt, so an interrupt cannot slip in between), interrupts off again after the handler ran.
    /// Call it with interrupts off; it returns with them off. Costs, when it sleeps: the sti and the
    /// hlt (2 exits, the interrupt is delivered at the hlt), the handler's <c>sti; iretq</c> (1) and
    /// the cli after it (1). A line nothing will raise ends the VM (the host stops a hlt that nothing
    /// can wake) rather than hanging it.
    /// </summary>
    /// <example><code>
    /// Cpu.OutByte(IdeBusMasterRegisters.Command, start);   // the device completes and raises IRQ14
    /// Events.WaitForInterrupt(AtaRegisters.InterruptLine);
    /// </code></example>
    public static void WaitForInterrupt(uint line)
    {
        Install();
        while (!TakeChannel(line))
        {
            Timer.SafeHalt();
            Cpu.DisableInterrupts();
        }
    }
#endif
}
