using System;
using System.Runtime.InteropServices;
using System.Threading;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Kvm.Interop;
using ParaVirt.Kvm.Platform;

namespace ParaVirt.Kvm;

/// <summary>
/// One KVM vCPU. <see cref="Run"/> enters the guest with <c>KVM_RUN</c> and turns the exit into a
/// <see cref="VcpuExit"/>: hypercalls (an <c>out</c> to the hypercall port), traps (an <c>out</c> to
/// the trap port from the ring-0 trampolines, with the exception frame read from the ring-0 stack),
/// port I/O, MMIO, and the failure exits. Registers travel through <c>kvm_run-&gt;s.regs</c>
/// (KVM_CAP_SYNC_REGS): no register ioctl per exit, no allocation per exit.
/// </summary>
internal sealed unsafe partial class KvmVcpu : IVcpuBackend, IVcpuMsrAccess, IGuestPaging
{
    private const ulong RflagsUserMask = 0x0000_0000_0000_0CD5 | Registers.InterruptFlag | (1UL << 8) | (1UL << 16) | (1UL << 18) | (1UL << 21);

    private readonly KvmVm _vm;
    private readonly int _mmapSize;
    private int _fd;
    private KvmRun* _run;

    // The vCPU thread, for kicks: written by the vCPU thread before each KVM_RUN, read by kickers.
    private nuint _thread;
    private int _threadManagedId;
    private readonly object _kickGate = new();

    // The trap state machine. Invariant: whenever Run returns, s.regs hold the guest's CPL3 state,
    // never ring-0 state. The vCPU itself is either in the guest (CPL3) or parked in the trampoline
    // page (_inTrap), with the guest's state in the CPU's frame at TrapFrame + 16 on the ring-0
    // stack; the trampoline's own RIP/RSP/RFLAGS are kept here and swapped back in by
    // ReturnFromTrap, whose iretq then returns to CPL3 (user selectors forced into the frame). A
    // vCPU is parked by a trap exit, and by any Interrupted exit that finds it inside the
    // trampolines (a kick that lands right after ReturnFromTrap, or while a stub runs): see Park.
    // ResetForEntry discards a parked trampoline and reloads the user segments.
    private bool _inTrap;
    private ulong _trampolineRip, _trampolineRsp, _trampolineRflags;

    // KVM_RUN was entered since the last ResetForEntry (KVM may hold an instruction to complete).
    private bool _ranSinceReset;

    // The registers as KVM reported them at the last exit: compared before the next run so that
    // s.regs are marked dirty only when the host changed them (see Run).
    private Registers _atExit;
    private bool _forceDirty = true;

    public KvmVcpu(KvmVm vm, KvmDevice kvm, int index)
    {
        _vm = vm;
        _mmapSize = kvm.VcpuMmapSize;
        _ = VcpuKicker.Signal; // install the kick handler before the first run
        _fd = KvmException.Check(LibC.Ioctl(vm.Fd, KvmIoctl.CreateVcpu, index), "KVM_CREATE_VCPU");
        try
        {
            nint run = LibC.Mmap(0, (nuint)_mmapSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, _fd, 0);
            if (run == -1)
                throw new KvmException("mmap (kvm_run)", Marshal.GetLastPInvokeError());
            _run = (KvmRun*)run;
            CpuidTable.Apply(kvm, _fd);
            SetupSpecialRegisters();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public ref Registers Registers => ref _run->Regs;

    public void Run(ref VcpuExit exit)
    {
        KvmRun* run = _run;
        ObjectDisposedException.ThrowIf(run == null, this);
        if (_inTrap)
            ReturnFromTrap(run);
        if (_pagingPending)
            ApplyPaging(run);

        int managedId = Environment.CurrentManagedThreadId;
        if (managedId != _threadManagedId)
        {
            Volatile.Write(ref _thread, LibC.PthreadSelf());
            _threadManagedId = managedId;
        }

        // Invariant: s.regs holds the registers the guest must resume with. They are marked dirty
        // only if the host changed them since the exit: on this machine's KVM (kvm_pvm), loading
        // unchanged registers on re-entry overwrites what KVM's completion of an IN or an MMIO read
        // writes into the destination register. A handler that changes registers on such an exit
        // wins over the completion, which is what it asked for.
        run->KvmValidRegs = KvmRun.SyncRegs;
        bool dirty = _forceDirty || !AsBytes(ref run->Regs).SequenceEqual(AsBytes(ref _atExit));
        run->KvmDirtyRegs = dirty ? KvmRun.SyncRegs : 0;
        _forceDirty = false;
        _ranSinceReset = true;
        int rc = LibC.Ioctl(_fd, KvmIoctl.Run, 0);
        exit = default;
        _lastExitHypercall = false;
        if (rc < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is LibC.EINTR or LibC.EAGAIN)
            {
                // A kick: immediate_exit is cleared only now, after KVM_RUN has returned, so a kick
                // that lands between the stop check and KVM_RUN is never lost.
                Volatile.Write(ref run->ImmediateExit, 0);
                _atExit = run->Regs;
                exit.Reason = ExitReason.Interrupted;
                exit.Rip = run->Regs.Rip;
                Park(run, ref exit);
                return;
            }
            throw new KvmException("KVM_RUN", errno);
        }

        _atExit = run->Regs;
        exit.Rip = run->Regs.Rip;
        exit.EngineCode = run->ExitReason;
        switch (run->ExitReason)
        {
            case KvmExit.Io:
                DecodeIo(run, ref exit);
                break;
            case KvmExit.Mmio:
                if (run->MmioLen is 0 or > 8)
                {
                    exit.Reason = ExitReason.InternalError;
                    break;
                }
                exit.Reason = ExitReason.Mmio;
                exit.Address = run->MmioPhysAddr;
                exit.Size = (byte)run->MmioLen;
                exit.Count = 1;
                exit.IsWrite = run->MmioIsWrite != 0;
                exit.Data = (byte*)&run->MmioData;
                break;
            case KvmExit.Hlt:
                exit.Reason = ExitReason.Halt;
                break;
            case KvmExit.Shutdown:
            case KvmExit.SystemEvent:
                exit.Reason = ExitReason.Shutdown;
                break;
            case KvmExit.FailEntry:
                exit.Reason = ExitReason.EntryFailure;
                exit.EngineCode = run->FailEntryReason;
                break;
            case KvmExit.Intr:
                Volatile.Write(ref run->ImmediateExit, 0);
                exit.Reason = ExitReason.Interrupted;
                Park(run, ref exit);
                break;
            case KvmExit.InternalError:
                exit.Reason = ExitReason.InternalError;
                exit.EngineCode = 0x1_0000_0000UL | run->InternalSuberror;
                break;
            default:
                exit.Reason = ExitReason.InternalError;
                break;
        }
    }

    private void DecodeIo(KvmRun* run, ref VcpuExit exit)
    {
        ushort port = run->IoPort;
        bool isOut = run->IoDirection == KvmExit.IoOut;
        if (port == PlatformPorts.Hypercall && isOut && run->IoCount == 1)
        {
            exit.Reason = ExitReason.Hypercall;
            _lastExitHypercall = true;
            return;
        }
        if (port == PlatformPorts.Trap && isOut)
        {
            EnterTrap(run, ref exit);
            return;
        }
        // Invariant: the data lies inside the kvm_run mapping; KVM guarantees it, we check anyway.
        ulong length = (ulong)run->IoSize * run->IoCount;
        if (run->IoSize is not (1 or 2 or 4) || run->IoCount == 0 || run->IoDataOffset > (ulong)_mmapSize || length > (ulong)_mmapSize - run->IoDataOffset)
        {
            exit.Reason = ExitReason.InternalError;
            return;
        }
        exit.Reason = ExitReason.PortIo;
        exit.Port = port;
        exit.Size = run->IoSize;
        exit.Count = run->IoCount;
        exit.IsWrite = isOut;
        exit.Data = (byte*)run + run->IoDataOffset;
    }

    /// <summary>A trampoline reported an exception: expose the guest's state at the fault.</summary>
    private void EnterTrap(KvmRun* run, ref VcpuExit exit)
    {
        ref Registers r = ref run->Regs;
        // Only the trampoline's tail can write the trap port (the I/O bitmap denies it to CPL3),
        // and it does so with RSP at the frame. Anything else means the platform is broken.
        if ((r.Rip != Trampolines.ExitRip && r.Rip != Trampolines.ResumeRip) || r.Rsp != KvmPlatform.TrapFrame ||
            !_vm.Memory.TryRead(KvmPlatform.TrapFrame, out TrapFrame frame) || !FromUserMode(in frame))
        {
            BrokenTrampoline(ref exit);
            return;
        }
        ParkAt(run, r.Rip, in frame);
        ReportTrap(ref exit, (byte)frame.Vector, (uint)frame.ErrorCode, frame.Rip);
    }

    /// <summary>
    /// An Interrupted exit: if the kick found the vCPU inside the trampolines (ring 0), park it there
    /// so the core sees only the guest's state. Three cases, told apart by RIP and checked against
    /// RSP: returning (after the trap-port <c>out</c>: the frame holds what ReturnFromTrap wrote;
    /// the exit stays Interrupted and the next run finishes the iretq); entering (in a stub or at
    /// the <c>out</c>: the CPU has delivered an exception that the trampoline had not reported yet;
    /// it is reported now as the trap it is, and the trampoline resumes after its <c>out</c>).
    /// </summary>
    private void Park(KvmRun* run, ref VcpuExit exit)
    {
        ref Registers r = ref run->Regs;
        ulong rip = r.Rip;
        if (rip < KvmPlatform.Trampolines || rip >= KvmPlatform.Trampolines + 4096)
        {
            TakeExceptionInDelivery(ref exit); // in the guest: CPL3
            return;
        }
        if (!_vm.Memory.TryRead(KvmPlatform.TrapFrame, out TrapFrame frame) || !FromUserMode(in frame))
        {
            BrokenTrampoline(ref exit);
            return;
        }
        if ((rip == Trampolines.ResumeRip && r.Rsp == KvmPlatform.TrapFrame) ||
            (rip == Trampolines.IretRip && r.Rsp == KvmPlatform.TrapFrame + 16) ||
            (rip >= Trampolines.TableWriteRip && rip < Trampolines.End && r.Rsp >= KvmPlatform.TrapFrame + 16 - TableWriteSavedBytes && r.Rsp <= KvmPlatform.TrapFrame + 16))
        {
            ParkAt(run, rip, in frame);
            exit.Rip = frame.Rip;
            return;
        }
        // Entering: the CPU's frame (RIP at TrapFrame + 16) is complete; the stub has pushed its
        // error code and vector or is about to. RSP tells how far it got; RIP which stub it is.
        int vector = StubVector(rip);
        if (vector < 0 || r.Rsp < KvmPlatform.TrapFrame || r.Rsp > KvmPlatform.TrapFrame + 16 ||
            (rip == Trampolines.ExitRip && r.Rsp != KvmPlatform.TrapFrame))
        {
            BrokenTrampoline(ref exit);
            return;
        }
        bool cpuPushesErrorCode = vector < 32 && ExceptionVectors.HasErrorCode((byte)vector);
        ulong errorCode = cpuPushesErrorCode ? frame.ErrorCode : 0;
        // Resume after the out, as a reported trap does: add rsp, 16 drops the two slots below the
        // CPU's frame whatever the stub had written there.
        r.Rsp = KvmPlatform.TrapFrame;
        ParkAt(run, Trampolines.ResumeRip, in frame);
        ReportTrap(ref exit, (byte)vector, (uint)errorCode, frame.Rip);
    }

    /// <summary>
    /// A kick can also land while the CPU is delivering an exception from CPL3 (KVM then holds it
    /// as injected and delivers it at the next entry, to whatever RIP the host set by then): report
    /// it now as the trap it is, with the guest at the faulting instruction, and drop KVM's copy.
    /// #BP and #OF (raised by int3/into, after the instruction) are left to KVM.
    /// </summary>
    private void TakeExceptionInDelivery(ref VcpuExit exit)
    {
        KvmVcpuEvents events;
        if (LibC.Ioctl(_fd, KvmIoctl.GetVcpuEvents, &events) < 0 ||
            (events.ExceptionInjected == 0 && events.ExceptionPending == 0) ||
            events.ExceptionNr is (byte)ExceptionVector.Breakpoint or (byte)ExceptionVector.Overflow)
            return;
        byte vector = events.ExceptionNr;
        uint errorCode = events.ExceptionHasErrorCode != 0 ? events.ExceptionErrorCode : 0;
        events.ExceptionInjected = events.ExceptionPending = events.ExceptionHasErrorCode = 0;
        events.ExceptionNr = 0;
        events.ExceptionErrorCode = 0;
        KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.SetVcpuEvents, &events), "KVM_SET_VCPU_EVENTS");
        ReportTrap(ref exit, vector, errorCode, _run->Regs.Rip);
    }

    /// <summary>The vector whose stub holds <paramref name="rip"/>, the common tail's <c>out</c> reading the vector from the frame; -1 if none.</summary>
    private int StubVector(ulong rip)
    {
        if (rip == Trampolines.ExitRip)
            return _vm.Memory.TryRead(KvmPlatform.TrapFrame, out ulong pushed) ? (byte)pushed : -1;
        ReadOnlySpan<ulong> entries = Trampolines.Entries;
        if (rip < entries[0] || rip >= Trampolines.ExitRip)
            return -1;
        int index = entries.BinarySearch(rip);
        return index >= 0 ? index : ~index - 1;
    }

    /// <summary>Whether the CPU's frame is a CPL3 guest's (the platform's user selectors).</summary>
    private static bool FromUserMode(in TrapFrame frame) => frame.Cs == KvmPlatform.UserCode && frame.Ss == KvmPlatform.UserData;

    /// <summary>Swaps the trampoline's registers out of s.regs and the guest's (from the CPU's frame) in.</summary>
    private void ParkAt(KvmRun* run, ulong trampolineRip, in TrapFrame frame)
    {
        ref Registers r = ref run->Regs;
        _inTrap = true;
        _trampolineRip = trampolineRip;
        _trampolineRsp = r.Rsp;
        _trampolineRflags = r.Rflags;
        if (trampolineRip != r.Rip)
            _forceDirty = true; // KVM must load the trampoline RIP the host chose
        r.Rip = frame.Rip;
        r.Rsp = frame.Rsp;
        r.Rflags = frame.Rflags;
    }

    private void ReportTrap(ref VcpuExit exit, byte vector, uint errorCode, ulong rip)
    {
        exit.Reason = ExitReason.Trap;
        exit.Vector = vector;
        exit.ErrorCode = errorCode;
        exit.Rip = rip;
        exit.Address = vector == (byte)ExceptionVector.PageFault ? ReadControlRegister(2) : 0;
    }

    private static void BrokenTrampoline(ref VcpuExit exit)
    {
        exit.Reason = ExitReason.InternalError;
        exit.EngineCode = 0x2_0000_0000UL;
    }

    /// <summary>
    /// Writes the (possibly changed) guest state into the frame that the trampoline's iretq pops and
    /// puts the trampoline's registers back. Validates first and changes nothing if it throws: the
    /// vCPU stays parked and consistent, and the run loop stops the VM.
    /// </summary>
    private void ReturnFromTrap(KvmRun* run)
    {
        ref Registers r = ref run->Regs;
        // Invariant: iretq never faults in ring 0: it returns to a canonical user RIP and RSP. The
        // core checks this before every run (a clean stop with the reason); this is the last line.
        if (r.Rip < KvmPlatform.HypercallPage || r.Rip >= UserAddressLimit || !IsCanonical(r.Rsp))
            throw new InvalidOperationException($"refusing to resume the guest at RIP 0x{r.Rip:x} RSP 0x{r.Rsp:x}: not a canonical user address");
        // Invariant: the guest never gains privileged RFLAGS bits (IOPL, VM, NT...) through a handler.
        ulong rflags = (r.Rflags & RflagsUserMask) | Registers.ReservedOne;
        if (!_vm.Memory.TryGetSpan(KvmPlatform.TrapFrame + 16, 5 * 8, out Span<byte> slots))
            throw new InvalidOperationException("the trap frame is outside guest memory");
        // Invariant: the iretq returns to CPL3 whatever the frame held: the user selectors are written too.
        Span<ulong> frame = MemoryMarshal.Cast<byte, ulong>(slots);
        frame[0] = r.Rip;
        frame[1] = KvmPlatform.UserCode;
        frame[2] = rflags;
        frame[3] = r.Rsp;
        frame[4] = KvmPlatform.UserData;
        r.Rip = _trampolineRip;
        r.Rsp = _trampolineRsp;
        r.Rflags = _trampolineRflags;
        _inTrap = false;
    }

    private const ulong UserAddressLimit = 0x0000_8000_0000_0000;

    private static bool IsCanonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

    /// <inheritdoc/>
    public void ResetForEntry()
    {
        ObjectDisposedException.ThrowIf(_run == null, this);
        if (_ranSinceReset)
        {
            // KVM may still hold an instruction to complete on the next KVM_RUN (an MMIO read's
            // destination register, an out's RIP advance): complete it now, on the old state, with
            // an entry that runs no guest code. Its return is irrelevant: the state is replaced below.
            _run->KvmValidRegs = 0;
            _run->KvmDirtyRegs = 0;
            Volatile.Write(ref _run->ImmediateExit, 1);
            _ = LibC.Ioctl(_fd, KvmIoctl.Run, 0);
            Volatile.Write(ref _run->ImmediateExit, 0);
            _ranSinceReset = false;
        }
        _inTrap = false;
        SetupSpecialRegisters();
        // Nothing an earlier run was delivering (an exception, an interrupt, an NMI) reaches the new entry.
        KvmVcpuEvents events;
        KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.GetVcpuEvents, &events), "KVM_GET_VCPU_EVENTS");
        events.ExceptionInjected = events.ExceptionPending = events.ExceptionHasErrorCode = events.ExceptionNr = 0;
        events.ExceptionErrorCode = 0;
        events.InterruptInjected = events.InterruptNr = events.InterruptSoft = events.InterruptShadow = 0;
        events.NmiInjected = events.NmiPending = 0;
        KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.SetVcpuEvents, &events), "KVM_SET_VCPU_EVENTS");
    }

    private static ReadOnlySpan<byte> AsBytes(ref Registers registers) =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<Registers>(ref registers));

    public void Kick()
    {
        // Under the lock Dispose takes: a kick from another thread never writes to an unmapped kvm_run.
        lock (_kickGate)
        {
            KvmRun* run = _run;
            // On the vCPU thread itself (a handler asked to stop) the guest is not running and the
            // run loop checks for a stop before it re-enters: a kick would only leave
            // immediate_exit set and cost the next run a spurious exit.
            if (run == null || Environment.CurrentManagedThreadId == Volatile.Read(ref _threadManagedId))
                return;
            Volatile.Write(ref run->ImmediateExit, 1);
            VcpuKicker.Kick(Volatile.Read(ref _thread));
        }
    }

    public void CancelKick()
    {
        // On the vCPU thread during a run, so kvm_run stays mapped: no lock. The signal of a kick
        // already sent is consumed by its no-op handler outside KVM_RUN; immediate_exit is what
        // would end the next entry at once. A Kick racing with this store either lands before it
        // (withdrawn, its reason handled by the caller) or after it (kept).
        KvmRun* run = _run;
        if (run != null)
            Volatile.Write(ref run->ImmediateExit, 0);
    }

    public void ClearKick()
    {
        lock (_kickGate)
        {
            if (_run != null)
                Volatile.Write(ref _run->ImmediateExit, 0);
            // Forget the thread: it may end before the next run, and a signal must never reach a
            // pthread_t that no longer exists.
            Volatile.Write(ref _thread, 0);
            Volatile.Write(ref _threadManagedId, 0);
        }
    }

    public ulong ReadControlRegister(int index)
    {
        KvmSregs sregs;
        KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.GetSregs, &sregs), "KVM_GET_SREGS");
        return index switch
        {
            0 => sregs.Cr0,
            2 => sregs.Cr2,
            3 => sregs.Cr3,
            4 => sregs.Cr4,
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };
    }

    /// <summary>Long mode, paging on our tables, the guest's segments at CPL3, TR and the descriptor tables.</summary>
    private void SetupSpecialRegisters()
    {
        // Every field is set here, so the vCPU's defaults need not be read first (one ioctl less
        // per VM; VM creation is measured). No in-kernel LAPIC: APIC_BASE keeps its reset value.
        KvmSregs s = default;
        s.ApicBase = 0xFEE0_0000 | 0x900; // base, enabled, bootstrap processor
        var code = new KvmSegment { Base = 0, Limit = 0xFFFFFFFF, Selector = KvmPlatform.UserCode, Type = 0xB, Present = 1, Dpl = 3, Db = 0, S = 1, L = 1, G = 1 };
        var data = new KvmSegment { Base = 0, Limit = 0xFFFFFFFF, Selector = KvmPlatform.UserData, Type = 0x3, Present = 1, Dpl = 3, Db = 1, S = 1, L = 0, G = 1 };
        s.Cs = code;
        s.Ds = s.Es = s.Fs = s.Gs = s.Ss = data;
        s.Tr = new KvmSegment
        {
            Base = KvmPlatform.Tss,
            Limit = KvmPlatform.TssHeaderSize + KvmPlatform.IoBitmapSize,
            Selector = KvmPlatform.TssSelector,
            Type = 0xB, // 64-bit busy TSS
            Present = 1,
            S = 0,
        };
        s.Ldt = new KvmSegment { Unusable = 1, Type = 0x2, Present = 0 };
        s.Gdt = new KvmDtable { Base = KvmPlatform.Gdt, Limit = 7 * 8 - 1 };
        s.Idt = new KvmDtable { Base = KvmPlatform.Idt, Limit = 256 * 16 - 1 };
        const ulong PE = 1, MP = 2, ET = 0x10, NE = 0x20, WP = 0x10000, PG = 0x8000_0000;
        const ulong PAE = 0x20, OSFXSR = 0x200, OSXMMEXCPT = 0x400;
        const ulong LME = 0x100, LMA = 0x400, NXE = 0x800;
        s.Cr0 = PE | MP | ET | NE | WP | PG;
        s.Cr3 = KvmPlatform.Pml4;
        _root = KvmPlatform.Pml4;
        _pagingPending = _rootChanged = false;
        _tableWriteCount = 0;
        s.Cr4 = PAE | OSFXSR | OSXMMEXCPT;
        s.Efer = LME | LMA | NXE; // NXE also makes #PF report instruction fetches (error code bit 4)
        KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.SetSregs, &s), "KVM_SET_SREGS");
        _run->Regs = default;
        _run->Regs.Rflags = Registers.ReservedOne;
        _forceDirty = true;
    }

    public void Dispose()
    {
        lock (_kickGate)
        {
            if (_run != null)
            {
                LibC.Munmap((nint)_run, (nuint)_mmapSize);
                _run = null;
            }
        }
        if (_fd > 0)
        {
            LibC.Close(_fd);
            _fd = -1;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TrapFrame
    {
        public ulong Vector, ErrorCode, Rip, Cs, Rflags, Rsp, Ss;
    }
}
