using System;
using System.Runtime.InteropServices;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Kvm.Interop;
using ParaVirt.Kvm.Platform;

namespace ParaVirt.Kvm;

/// <summary>
/// The vCPU's page-table root and TLB (<see cref="IGuestPaging"/>). Measured on this project's
/// nested KVM (kvm_pvm, AMD EPYC): a host store into live tables through the host's mapping is
/// not seen by the outer KVM's shadow MMU, and neither a CR3 reload nor a CR3 or CR4 change
/// through KVM_SET_SREGS drops the stale translation (the outer KVM keeps its shadow pages by
/// table frame). What it does see is a store the vCPU itself makes to a shadowed table: it then
/// zaps that table's shadow. So each table page the host wrote is listed, and on the way back
/// into the guest the vCPU runs the ring-0 table-write path (<see cref="Trampolines.TableWriteRip"/>),
/// which rewrites one byte of each listed page with its own value, and iretq's to the guest.
/// </summary>
internal sealed unsafe partial class KvmVcpu
{
    /// <summary>Table pages one entry can list (the list page holds a count and the addresses).</summary>
    public const int MaxTableWrites = 511;

    /// <summary>Bytes the table-write path pushes below the CPU's frame.</summary>
    private const ulong TableWriteSavedBytes = 4 * 8;

    private ulong _root = KvmPlatform.Pml4;
    private bool _pagingPending, _rootChanged;
    private long _flushes;
    private bool _lastExitHypercall;
    private readonly ulong[] _tableWrites = new ulong[MaxTableWrites];
    private int _tableWriteCount;

    public ulong Root => _root;

    public ulong PlatformRoot => KvmPlatform.Pml4;

    public long Flushes => _flushes;

    public int TableWriteCapacity => MaxTableWrites - _tableWriteCount;

    public void SetRoot(ulong root)
    {
        if (root % 4096 != 0 || root >= 1UL << 52)
            throw new ArgumentOutOfRangeException(nameof(root), root, "a page-table root is a 4 KiB-aligned guest-physical address");
        _root = root;
        _rootChanged = true;
        _pagingPending = true;
    }

    public void FlushTlbBeforeNextEntry() => _pagingPending = true;

    public bool TryNoteTableWrite(ulong tablePage)
    {
        tablePage &= ~0xFFFUL;
        // The ring-0 path reaches RAM through its supervisor alias, private memory at its own address.
        if (tablePage < _vm.Memory.Size)
            tablePage += KvmPlatform.RamAlias;
        else if (_vm.PrivateMemory is not { } pool || !pool.IsValid(tablePage, 4096))
            throw new ArgumentOutOfRangeException(nameof(tablePage), tablePage, "a table page is in RAM or in host-private memory");
        for (int i = 0; i < _tableWriteCount; i++)
            if (_tableWrites[i] == tablePage)
                return true;
        if (_tableWriteCount == MaxTableWrites)
            return false;
        _tableWrites[_tableWriteCount++] = tablePage;
        _pagingPending = true;
        return true;
    }

    /// <summary>Before KVM_RUN: loads a new root and flushes (KVM_SET_SREGS); runs the ring-0 table-write path if tables were written.</summary>
    private void ApplyPaging(KvmRun* run)
    {
        _pagingPending = false;
        _flushes++;
        ref Registers r = ref run->Regs;
        bool inTableWrite = r.Rip >= Trampolines.TableWriteRip && r.Rip < Trampolines.End;
        if (_tableWriteCount > 0 && inTableWrite)
            throw new InvalidOperationException("page tables were written while the vCPU was inside the table-write path");
        bool parked = r.Rip >= KvmPlatform.Trampolines && r.Rip < Trampolines.End; // after ReturnFromTrap: ring-0 state
        KvmSregs s = default;
        bool setSregs = _rootChanged || _tableWriteCount == 0 || !parked;
        if (setSregs)
            KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.GetSregs, &s), "KVM_GET_SREGS");
        s.Cr3 = _root;
        _rootChanged = false;

        if (_tableWriteCount > 0)
        {
            // The list the ring-0 path reads: a count, then the table pages.
            if (!_vm.Memory.TryWrite(KvmPlatform.TableWriteList + 8, MemoryMarshal.AsBytes(_tableWrites.AsSpan(0, _tableWriteCount))) ||
                !_vm.Memory.TryWrite(KvmPlatform.TableWriteList, (ulong)_tableWriteCount))
                throw new InvalidOperationException("the table-write list is outside guest memory");
            _tableWriteCount = 0;
            if (parked)
            {
                // Parked by a trap: the guest's frame is at TrapFrame + 16 (ReturnFromTrap wrote it).
                r.Rsp = KvmPlatform.TrapFrame + 16;
                r.Rip = Trampolines.TableWriteRip;
            }
            else
            {
                // At CPL3 after a hypercall or a kick: build the frame the path's iretq pops, and
                // enter ring 0. At a hypercall exit RIP is already past the out (measured), and the
                // out has nothing to complete; a guest port I/O might (an in's destination register).
                if (!_lastExitHypercall && run->ExitReason == KvmExit.Io)
                    throw new InvalidOperationException("page tables were written at a port-I/O exit: KVM completes that instruction on entry");
                ulong rip = r.Rip;
                ulong rflags = (r.Rflags & RflagsUserMask) | Registers.ReservedOne;
                Span<ulong> frame = stackalloc ulong[] { rip, KvmPlatform.UserCode, rflags, r.Rsp, KvmPlatform.UserData };
                if (!_vm.Memory.TryWrite(KvmPlatform.TrapFrame + 16, MemoryMarshal.AsBytes(frame)))
                    throw new InvalidOperationException("the trap frame is outside guest memory");
                s.Cs = new KvmSegment { Base = 0, Limit = 0xFFFFFFFF, Selector = KvmPlatform.KernelCode, Type = 0xB, Present = 1, Dpl = 0, Db = 0, S = 1, L = 1, G = 1 };
                s.Ss = new KvmSegment { Base = 0, Limit = 0xFFFFFFFF, Selector = KvmPlatform.KernelData, Type = 0x3, Present = 1, Dpl = 0, Db = 1, S = 1, L = 0, G = 1 };
                r.Rip = Trampolines.TableWriteRip;
                r.Rsp = KvmPlatform.TrapFrame + 16;
                r.Rflags = Registers.ReservedOne;
            }
            _forceDirty = true;
        }
        if (setSregs)
            KvmException.Check(LibC.Ioctl(_fd, KvmIoctl.SetSregs, &s), "KVM_SET_SREGS");
    }
}
