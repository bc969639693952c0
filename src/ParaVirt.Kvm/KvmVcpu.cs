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
internal sealed unsafe partial class KvmVcpu : IVcpuBackend, IVcpuMsrAccess
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

    // While the guest is stopped in a trampoline: the trampoline's own RIP/RSP/RFLAGS, swapped out
    // of s.regs so the core sees (and may change) the guest's state at the fault.
    private bool _inTrap;
    private ulong _trampolineRip, _trampolineRsp, _trampolineRflags;

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
        if (_inTrap)
            ReturnFromTrap(run);

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
        int rc = LibC.Ioctl(_fd, KvmIoctl.Run, 0);
        exit = default;
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
        if (r.Rip < KvmPlatform.Trampolines || r.Rip >= KvmPlatform.Trampolines + 4096 || r.Rsp != KvmPlatform.TrapFrame ||
            !_vm.Memory.TryRead(KvmPlatform.TrapFrame, out TrapFrame frame))
        {
            exit.Reason = ExitReason.InternalError;
            exit.EngineCode = 0x2_0000_0000UL;
            return;
        }
        _inTrap = true;
        _trampolineRip = r.Rip;
        _trampolineRsp = r.Rsp;
        _trampolineRflags = r.Rflags;
        r.Rip = frame.Rip;
        r.Rsp = frame.Rsp;
        r.Rflags = frame.Rflags;

        exit.Reason = ExitReason.Trap;
        exit.Vector = (byte)frame.Vector;
        exit.ErrorCode = (uint)frame.ErrorCode;
        exit.Rip = frame.Rip;
        if (exit.Vector == (byte)ExceptionVector.PageFault)
            exit.Address = ReadControlRegister(2);
    }

    /// <summary>Writes the (possibly changed) guest state into the frame that the trampoline's iretq pops.</summary>
    private void ReturnFromTrap(KvmRun* run)
    {
        ref Registers r = ref run->Regs;
        // Invariant: the guest never gains privileged RFLAGS bits (IOPL, VM, NT...) through a handler.
        ulong rflags = (r.Rflags & RflagsUserMask) | Registers.ReservedOne;
        if (!_vm.Memory.TryWrite(KvmPlatform.TrapFrame + 16, r.Rip) ||
            !_vm.Memory.TryWrite(KvmPlatform.TrapFrame + 32, rflags) ||
            !_vm.Memory.TryWrite(KvmPlatform.TrapFrame + 40, r.Rsp))
            throw new InvalidOperationException("the trap frame is outside guest memory");
        r.Rip = _trampolineRip;
        r.Rsp = _trampolineRsp;
        r.Rflags = _trampolineRflags;
        _inTrap = false;
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
