using System;
using System.Runtime.InteropServices;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Mmu.Para;

/// <summary>
/// Para mode's memory virtualization: Xen PV direct paging. The guest's page tables are the real
/// ones the hardware walks; they are read-only to the guest (a pinned table's frame is
/// write-protected in the identity map through <see cref="IdentityMapProtection"/>) and change only
/// through <see cref="Hypercall.MmuUpdate"/> (a batch of validated entry writes) and
/// <see cref="Hypercall.MmuExtOp"/> (pin, unpin, new base pointer, flush). Page faults are entered
/// into the guest's handler (<see cref="Hypercall.SetPageFaultHandler"/>) with CR2 on its stack.
/// </summary>
/// <remarks>
/// <para>Validation is the security boundary (docs/memory-virtualization.md, "Validation"):
/// only frames of the guest's own RAM are mappable; a page-table frame is never mapped writable and
/// a writable-mapped frame never becomes a table; a table entry above level 1 names a pinned table
/// of the level below (no loops, no self-maps); PML4 slot 0 is the platform's and the upper half is
/// refused; a refused update returns a status and changes nothing (all or nothing per entry; a
/// batch stops at the first refused entry, the entries before it stay applied).</para>
/// <para>Bounded work per exit: at most <see cref="MmuLimits.MaxUpdatesPerCall"/> updates per call,
/// 512 entries scanned per pin or unpin, and no more table pages than the engine takes before the
/// next entry (<see cref="IGuestPaging.TableWriteCapacity"/>): a call that reaches a bound returns
/// how far it got. Nothing is allocated per call. Runs on the vCPU thread.</para>
/// </remarks>
/// <example><code>
/// using Machine machine = MachineBuilder.Create().WithMode(VirtualizationMode.Para).WithImage(image).Build();
/// ParaMmu mmu = machine.ParaMmu!;          // attached by the builder in para mode
/// machine.Run();
/// Console.WriteLine($"{mmu.UpdatesApplied} updates, {mmu.Refused} refused, {mmu.PageFaultsDelivered} faults");
/// </code></example>
public sealed unsafe class ParaMmu : ITrapHandler
{
    /// <summary>Faults at one RIP and address, with no page-table change in between, that make a storm: the VM stops.</summary>
    public const int MaxRepeatedFaults = 64;

    private const ulong TableFlags = PageTableEntry.Present | PageTableEntry.Writable | PageTableEntry.User;

    private readonly VirtualMachine _vm;
    private readonly GuestMemory _ram;
    private readonly IGuestPaging _paging;
    private readonly FrameTable _frames;
    private readonly IdentityMapProtection _protection;
    private readonly HostPagePool _pool;
    private readonly ulong _platformSlot0;
    private readonly SharedInfo* _shared;
    private ulong _base;
    private ulong _faultHandler;
    private ulong _lastFaultRip, _lastFaultAddress;
    private int _repeatedFaults;

    private ParaMmu(VirtualMachine vm, IGuestPaging paging, GuestMemory privateMemory)
    {
        _vm = vm;
        _ram = vm.WritableMemory;
        _paging = paging;
        PlatformLayout layout = vm.Layout;
        _frames = new FrameTable(layout.GuestRamStart, layout.GuestRamEnd);
        _pool = new HostPagePool(privateMemory);
        _protection = new IdentityMapProtection(vm.PhysicalMemory, layout, _pool, paging);
        if (!vm.PhysicalMemory.TryRead(layout.PageTableRoot, out _platformSlot0) || !PageTableEntry.IsPresent(_platformSlot0))
            throw new InvalidOperationException("the platform's root has no slot 0 to share");
        if (vm.WritableMemory.TryGetSpan(layout.SharedInfoPage, 4096, out Span<byte> page))
            _shared = (SharedInfo*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(page)); // guest RAM never moves
    }

    /// <summary>Whether <paramref name="vm"/>'s engine offers what the paravirtual MMU needs (guest paging control, host-private memory, an identity map).</summary>
    public static bool IsSupported(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        return vm.GetVcpuFeature<IGuestPaging>() is not null && vm.GetVmFeature<IHostPrivateMemory>()?.PrivateMemory is not null &&
            vm.Layout.PageTableRoot != 0 && vm.Layout.RamPageDirectory != 0;
    }

    /// <summary>
    /// Attaches the paravirtual MMU to a para-mode VM: registers hypercalls 32 to 34, announces
    /// <see cref="HypercallFeatures.Mmu"/>, and becomes the VM's trap handler (page faults).
    /// </summary>
    /// <exception cref="NotSupportedException">The engine offers no <see cref="IGuestPaging"/>, no host-private memory, or no identity map.</exception>
    /// <exception cref="InvalidOperationException">The VM already has a trap handler.</exception>
    public static ParaMmu Attach(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (vm.GetVcpuFeature<IGuestPaging>() is not { } paging ||
            vm.GetVmFeature<IHostPrivateMemory>()?.PrivateMemory is not { } privateMemory ||
            vm.Layout.PageTableRoot == 0 || vm.Layout.RamPageDirectory == 0)
            throw new NotSupportedException($"the {vm.EngineName} engine offers no guest paging control or host-private memory: no paravirtual MMU");
        if (vm.TrapHandler is not null)
            throw new InvalidOperationException("the VM already has a trap handler");
        var mmu = new ParaMmu(vm, paging, privateMemory);
        vm.Hypercalls.Register(Hypercall.MmuUpdate, mmu.MmuUpdate);
        vm.Hypercalls.Register(Hypercall.MmuExtOp, mmu.MmuExtOp);
        vm.Hypercalls.Register(Hypercall.SetPageFaultHandler, mmu.SetPageFaultHandler);
        vm.Features |= HypercallFeatures.Mmu;
        vm.TrapHandler = mmu;
        return mmu;
    }

    /// <summary>Entries written by <see cref="Hypercall.MmuUpdate"/>.</summary>
    public long UpdatesApplied { get; private set; }

    /// <summary>Updates and commands refused with a status.</summary>
    public long Refused { get; private set; }

    /// <summary>Tables pinned so far.</summary>
    public long Pins { get; private set; }

    /// <summary>Address-space switches (<see cref="MmuExtCommand.NewBasePointer"/>).</summary>
    public long BaseSwitches { get; private set; }

    /// <summary>Page faults entered into the guest's handler.</summary>
    public long PageFaultsDelivered { get; private set; }

    /// <summary>Tables pinned now.</summary>
    public int PinnedTables => _frames.PinnedTables;

    /// <summary>The guest's base pointer (its current level-4 table), 0 while it runs on the platform's root.</summary>
    public ulong BasePointer => _base;

    /// <summary>The identity-map protection (split 2 MiB pages, protected frames), for diagnostics.</summary>
    public IdentityMapProtection Protection => _protection;

    /// <summary>The status of the last refusal, for diagnostics.</summary>
    public HypercallStatus LastRefusal { get; private set; }

    private long Refuse(HypercallStatus status)
    {
        Refused++;
        LastRefusal = status;
        return (long)status;
    }

    // ---- MmuUpdate ----

    private long MmuUpdate(VirtualMachine vm, in HypercallArgs a)
    {
        ulong count = Math.Min(a.Arg1, (ulong)MmuLimits.MaxUpdatesPerCall);
        ulong doneAddress = a.Arg2;
        if (doneAddress != 0 && !_ram.IsValid(doneAddress, 8))
            return Refuse(HypercallStatus.BadAddress);
        // Invariant: count is bounded before it is multiplied; the list is read from guest RAM
        // only (vm.Memory: never the platform's pages), each entry copied out once.
        if (!vm.Memory.TryGetSpan(a.Arg0, count * (ulong)sizeof(MmuUpdateEntry), out Span<byte> bytes))
            return Refuse(HypercallStatus.BadAddress);
        ReadOnlySpan<MmuUpdateEntry> list = MemoryMarshal.Cast<byte, MmuUpdateEntry>(bytes);
        int done = 0;
        for (; done < list.Length; done++)
        {
            if (_paging.TableWriteCapacity < 1)
                break; // the engine takes no more table pages before the next entry: the guest continues
            MmuUpdateEntry update = list[done];
            long status = Apply(update.Entry, update.Value);
            if (status < 0)
            {
                if (doneAddress != 0)
                    _ram.TryWrite(doneAddress, (ulong)done);
                return Refuse((HypercallStatus)status);
            }
        }
        if (done > 0)
            _repeatedFaults = 0;
        return done;
    }

    /// <summary>Validates and writes one entry; changes nothing when it returns a status.</summary>
    private long Apply(ulong entryAddress, ulong value)
    {
        if (entryAddress % 8 != 0)
            return (long)HypercallStatus.InvalidArgument;
        ulong table = entryAddress & ~(PageTableEntry.FrameSize - 1);
        if (!_frames.IsRamFrame(table))
            return (long)HypercallStatus.BadAddress;
        int level = _frames.Level(table);
        if (level == 0)
            return (long)HypercallStatus.InvalidArgument;
        int index = (int)((entryAddress % PageTableEntry.FrameSize) / 8);
        if (level == 4 && (index < MmuLimits.FirstGuestSlot || index >= MmuLimits.GuestSlotLimit))
            return (long)HypercallStatus.NotPermitted;
        long status = Validate(level, value, table);
        if (status < 0)
            return status;
        if (!_ram.TryRead(entryAddress, out ulong old))
            return (long)HypercallStatus.BadAddress;
        // References: the new one first, so that rewriting an entry with itself never drops a count to zero.
        Reference(level, value);
        Unreference(level, old);
        if (!_ram.TryWrite(entryAddress, value))
            throw new InvalidOperationException($"page-table entry at 0x{entryAddress:x} is outside guest RAM");
        NoteTable(table);
        UpdatesApplied++;
        return 0;
    }

    /// <summary>Whether <paramref name="value"/> may be an entry of a level-<paramref name="level"/> table at <paramref name="table"/>.</summary>
    private long Validate(int level, ulong value, ulong table)
    {
        if (!PageTableEntry.IsPresent(value))
            return 0; // not walked: any value
        ulong target = PageTableEntry.Frame(value);
        if (!_frames.IsRamFrame(target))
            return (long)HypercallStatus.BadAddress; // platform pages, past RAM, host-private memory, MMIO
        if (level == 1)
        {
            // A frame is a page table or writable, never both (the table itself included).
            if ((value & PageTableEntry.Writable) != 0 && (_frames.Level(target) != 0 || target == table))
                return (long)HypercallStatus.NotPermitted;
            return 0;
        }
        if ((value & PageTableEntry.Large) != 0)
            return (long)HypercallStatus.InvalidArgument;
        // Only a pinned table of the level below: no loops, no self-references, no linear tables.
        if (_frames.Level(target) != level - 1)
            return (long)HypercallStatus.NotPermitted;
        return 0;
    }

    private void Reference(int level, ulong entry)
    {
        if (!PageTableEntry.IsPresent(entry))
            return;
        ulong target = PageTableEntry.Frame(entry);
        if (level == 1)
        {
            if ((entry & PageTableEntry.Writable) != 0)
                _frames.AddWritableMapping(target);
        }
        else
            _frames.AddReference(target);
    }

    private void Unreference(int level, ulong entry)
    {
        if (!PageTableEntry.IsPresent(entry))
            return;
        ulong target = PageTableEntry.Frame(entry);
        if (level == 1)
        {
            if ((entry & PageTableEntry.Writable) != 0)
                _frames.DropWritableMapping(target);
        }
        else
            _frames.DropReference(target);
    }

    private void NoteTable(ulong table)
    {
        if (!_paging.TryNoteTableWrite(table))
            throw new InvalidOperationException("the engine took no more table writes though capacity was checked");
    }

    // ---- MmuExtOp ----

    private long MmuExtOp(VirtualMachine vm, in HypercallArgs a)
    {
        long status = (MmuExtCommand)a.Arg0 switch
        {
            MmuExtCommand.PinL1Table => Pin(a.Arg1, 1),
            MmuExtCommand.PinL2Table => Pin(a.Arg1, 2),
            MmuExtCommand.PinL3Table => Pin(a.Arg1, 3),
            MmuExtCommand.PinL4Table => Pin(a.Arg1, 4),
            MmuExtCommand.Unpin => Unpin(a.Arg1),
            MmuExtCommand.NewBasePointer => NewBasePointer(a.Arg1),
            MmuExtCommand.InvalidatePage or MmuExtCommand.FlushTlb => Flush(),
            _ => (long)HypercallStatus.InvalidArgument,
        };
        if (status < 0)
            return Refuse((HypercallStatus)status);
        _repeatedFaults = 0;
        return 0;
    }

    private long Flush()
    {
        _paging.FlushTlbBeforeNextEntry();
        return 0;
    }

    /// <summary>Validates the frame's 512 entries as a level-<paramref name="level"/> table, then types it, protects it and takes its references.</summary>
    private long Pin(ulong frame, int level)
    {
        if (frame % PageTableEntry.FrameSize != 0)
            return (long)HypercallStatus.InvalidArgument;
        if (!_frames.IsRamFrame(frame))
            return (long)HypercallStatus.BadAddress;
        if (_frames.Level(frame) != 0 || _frames.WritableMappings(frame) != 0)
            return (long)HypercallStatus.NotPermitted;
        // Protecting the frame writes at most two table pages; a level-4 table's slot 0 a third.
        if (_paging.TableWriteCapacity < 3)
            return (long)HypercallStatus.TooLarge;
        if (!_ram.TryGetSpan(frame, PageTableEntry.FrameSize, out Span<byte> bytes))
            return (long)HypercallStatus.BadAddress;
        Span<ulong> entries = MemoryMarshal.Cast<byte, ulong>(bytes);
        // Typed during validation, so that an entry naming the frame itself is judged as it will be.
        _frames.SetLevel(frame, level);
        long status = 0;
        for (int i = 0; i < PageTableEntry.EntriesPerTable && status == 0; i++)
        {
            ulong entry = entries[i];
            if (level == 4 && i == 0)
                status = entry == 0 || entry == _platformSlot0 ? 0 : (long)HypercallStatus.NotPermitted;
            else if (level == 4 && i >= MmuLimits.GuestSlotLimit)
                status = PageTableEntry.IsPresent(entry) ? (long)HypercallStatus.NotPermitted : 0;
            else
                status = Validate(level, entry, frame);
        }
        if (status == 0 && !_protection.TryProtect(frame))
            status = (long)HypercallStatus.TooLarge;
        if (status < 0)
        {
            _frames.SetLevel(frame, 0);
            return status;
        }
        // The guest cannot change the entries now (read-only since TryProtect, one vCPU).
        for (int i = level == 4 ? MmuLimits.FirstGuestSlot : 0; i < (level == 4 ? MmuLimits.GuestSlotLimit : PageTableEntry.EntriesPerTable); i++)
            Reference(level, entries[i]);
        if (level == 4)
        {
            entries[0] = _platformSlot0;
            NoteTable(frame);
        }
        _frames.PinnedTables++;
        Pins++;
        return 0;
    }

    private long Unpin(ulong frame)
    {
        if (!_frames.IsRamFrame(frame))
            return (long)HypercallStatus.BadAddress;
        int level = _frames.Level(frame);
        if (level == 0)
            return (long)HypercallStatus.InvalidArgument;
        if (_frames.References(frame) != 0)
            return (long)HypercallStatus.NotPermitted; // still linked from a table, or the base pointer
        if (_paging.TableWriteCapacity < 2)
            return (long)HypercallStatus.TooLarge;
        if (!_ram.TryGetSpan(frame, PageTableEntry.FrameSize, out Span<byte> bytes))
            return (long)HypercallStatus.BadAddress;
        Span<ulong> entries = MemoryMarshal.Cast<byte, ulong>(bytes);
        for (int i = level == 4 ? MmuLimits.FirstGuestSlot : 0; i < (level == 4 ? MmuLimits.GuestSlotLimit : PageTableEntry.EntriesPerTable); i++)
            Unreference(level, entries[i]);
        if (level == 4)
            entries[0] = 0; // the platform's slot leaves with the type
        _frames.SetLevel(frame, 0);
        _frames.PinnedTables--;
        _protection.Unprotect(frame);
        return 0;
    }

    private long NewBasePointer(ulong frame)
    {
        if (frame != 0 && (!_frames.IsRamFrame(frame) || _frames.Level(frame) != 4))
            return (long)HypercallStatus.NotPermitted;
        if (frame != 0)
            _frames.AddReference(frame);
        if (_base != 0)
            _frames.DropReference(_base);
        _base = frame;
        _paging.SetRoot(frame == 0 ? _paging.PlatformRoot : frame);
        BaseSwitches++;
        return 0;
    }

    // ---- page faults ----

    private long SetPageFaultHandler(VirtualMachine vm, in HypercallArgs a)
    {
        // Invariant: the handler lies in guest RAM, never in the platform pages below it.
        if (a.Arg0 != 0 && (a.Arg0 < vm.Layout.GuestRamStart || !vm.Memory.IsValid(a.Arg0, 1)))
            return Refuse(HypercallStatus.BadAddress);
        _faultHandler = a.Arg0;
        return 0;
    }

    /// <inheritdoc/>
    /// <remarks>Page faults go to the guest's handler; every other exception stops the VM as before (the default description).</remarks>
    public bool HandleTrap(VirtualMachine vm, in VcpuExit exit, ref Registers registers, out string? stopMessage)
    {
        stopMessage = null;
        if (exit.Vector != (byte)ExceptionVector.PageFault)
            return false;
        ulong address = exit.Address;
        uint error = exit.ErrorCode;
        string what = $"page fault at RIP 0x{registers.Rip:x} on 0x{address:x} (error 0x{error:x})";
        if (_faultHandler == 0)
        {
            // The run loop's own wording for an unhandled #PF, so para guests without a handler read as before.
            string access = (error & 0x10) != 0 ? "instruction fetch" : (error & 2) != 0 ? "write" : "read";
            string kind = (error & 1) != 0 ? "protection violation" : "not mapped";
            stopMessage = $"unhandled #PF(0x{error:x}) at RIP 0x{registers.Rip:x}: {access} of 0x{address:x} ({kind}) (no page-fault handler registered)";
            return false;
        }
        if (_shared != null && _shared->InPageFault != 0)
        {
            stopMessage = $"double fault: {what} inside the page-fault handler";
            return false;
        }
        if (registers.Rip == _lastFaultRip && address == _lastFaultAddress)
        {
            if (++_repeatedFaults >= MaxRepeatedFaults)
            {
                stopMessage = $"page-fault storm: {MaxRepeatedFaults} faults in a row at RIP 0x{registers.Rip:x} on 0x{address:x} with no page-table change in between";
                return false;
            }
        }
        else
        {
            _lastFaultRip = registers.Rip;
            _lastFaultAddress = address;
            _repeatedFaults = 1;
        }
        // The frame: [cr2, error, rip, cs, rflags, rsp, ss], 16-byte aligned below a 128-byte red zone,
        // written to the guest's stack in RAM (an RSP elsewhere cannot take it: the VM stops).
        const ulong RedZone = 128, Size = 7 * 8;
        if (registers.Rsp < RedZone + Size + 16)
        {
            stopMessage = $"{what}: the stack pointer 0x{registers.Rsp:x} cannot take the fault frame";
            return false;
        }
        ulong rsp = ((registers.Rsp - RedZone) & ~0xFUL) - Size;
        Span<ulong> frame = stackalloc ulong[7];
        frame[0] = address;
        frame[1] = error;
        frame[2] = registers.Rip;
        frame[3] = UserCode;
        frame[4] = registers.Rflags;
        frame[5] = registers.Rsp;
        frame[6] = UserData;
        if (!_ram.TryWrite(rsp, MemoryMarshal.AsBytes(frame)))
        {
            stopMessage = $"{what}: the fault frame below RSP 0x{registers.Rsp:x} is outside guest RAM";
            return false;
        }
        if (_shared != null)
            _shared->InPageFault = 1;
        registers.Rsp = rsp;
        registers.Rip = _faultHandler;
        PageFaultsDelivered++;
        return true;
    }

    /// <summary>The guest's selectors at CPL3 (user code 0x23, user data 0x1B): the platform's, as in every interrupt frame.</summary>
    private const ulong UserCode = 0x23, UserData = 0x1B;
}
