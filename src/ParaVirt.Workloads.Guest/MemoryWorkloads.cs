using ParaVirt.Guest;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// The memory workloads, written once against the address-space API (<see cref="Paging"/>,
/// <see cref="AddressSpace"/>, <see cref="Frames"/>) and built in both flavours. Each is verified:
/// the guest writes through the mapping and reads the frame back through the identity map (or the
/// other way round). One operation each (docs/memory-virtualization.md, "Workloads"):
/// <c>page-fault</c> (touch one page that is not present; the #PF handler maps a fresh frame),
/// <c>map-unmap</c> (map 64 pages, then unmap them), <c>protect</c> (write-protect 64 pages, then
/// make them writable again), <c>context-switch</c> (switch to the other of two address spaces and
/// touch one page), <c>fork</c> (copy-on-write copy of a 256-page address space, one write fault in
/// the child, tear down).
/// </summary>
internal static unsafe class MemoryWorkloads
{
    private const ulong PageSize = 4096;
    private const int Batch = 64, ForkPages = 256;

    // Each workload maps its own 1 GiB range of PML4 slot 1.
    private const ulong FaultBase = Paging.GuestSpaceStart, MapBase = FaultBase + (1UL << 30), ProtectBase = MapBase + (1UL << 30),
        SwitchBase = ProtectBase + (1UL << 30), ForkBase = SwitchBase + (1UL << 30);

    private static AddressSpace s_space, s_child;
    private static ulong s_faults, s_badFaults;
    private static int s_handlerMode; // 1 demand paging, 2 copy-on-write
    private static ulong s_copyFrame;

    /// <summary>Runs workload <paramref name="name"/> for <paramref name="operations"/> operations if it is a memory workload.</summary>
    public static bool TryRun(System.ReadOnlySpan<byte> name, long operations, out int exitCode)
    {
        exitCode = 0;
        bool known = WorkloadCommandLine.Is(name, "page-fault") || WorkloadCommandLine.Is(name, "map-unmap") ||
            WorkloadCommandLine.Is(name, "protect") || WorkloadCommandLine.Is(name, "context-switch") || WorkloadCommandLine.Is(name, "fork");
        if (!known)
            return false;
        if (!Paging.Available)
        {
            // Para: no paravirtual MMU (an engine without guest paging control). Full: the host
            // announces no virtualized page tables (shadow paging not attached).
            exitCode = Guest.IsParavirtualized
                ? Report.Failure("memory: the host offers no paravirtual MMU", -1, WorkloadProtocol.ExitMmuUnavailable)
                : Report.Failure("memory: the host does not virtualize page tables in full mode", -1, WorkloadProtocol.ExitNotVirtualized);
            return true;
        }
        if (WorkloadCommandLine.Is(name, "page-fault"))
            exitCode = PageFault(operations);
        else if (WorkloadCommandLine.Is(name, "map-unmap"))
            exitCode = MapUnmap(operations);
        else if (WorkloadCommandLine.Is(name, "protect"))
            exitCode = Protect(operations);
        else if (WorkloadCommandLine.Is(name, "context-switch"))
            exitCode = ContextSwitch(operations);
        else
            exitCode = Fork(operations);
        return true;
    }

    private static int Refused(string what) => Report.Failure(what, (int)Paging.Commit(), WorkloadProtocol.ExitMmuRefused);

    private static int NoFrames(string what) => Report.Failure(what, -1, WorkloadProtocol.ExitNoFrames);

    /// <summary>Creates an address space with the tables for [base, base + pages) in place (mapped once, unmapped).</summary>
    private static AddressSpace SpaceWithTables(ulong baseAddress, long pages)
    {
        AddressSpace space = AddressSpace.Create();
        if (space.IsPlatform)
            return space;
        for (long i = 0; i < pages; i += 512)
            if (space.Entry(baseAddress + (ulong)i * PageSize, true) == null)
                return AddressSpace.Platform;
        return Paging.Commit() == 0 ? space : AddressSpace.Platform;
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void OnPageFault(ulong address, ulong error)
    {
        s_faults++;
        ulong page = address & ~(PageSize - 1);
        if (s_handlerMode == 1 && (error & Paging.FaultPresent) == 0)
        {
            // Demand paging: a fresh frame for the page.
            ulong frame = Frames.Allocate();
            if (frame == 0 || !s_space.Map(page, frame, PageFlags.Writable) || Paging.Commit() != 0)
                s_badFaults++;
            return;
        }
        if (s_handlerMode == 2 && (error & (Paging.FaultPresent | Paging.FaultWrite)) == (Paging.FaultPresent | Paging.FaultWrite))
        {
            // Copy on write: the child gets its own copy of the shared frame, writable.
            ulong old = s_child.Lookup(page) & Paging.FrameMask;
            ulong frame = Frames.Allocate();
            if (old == 0 || frame == 0)
            {
                s_badFaults++;
                return;
            }
            Copy(frame, old);
            if (!s_child.Map(page, frame, PageFlags.Writable) || Paging.Commit() != 0)
                s_badFaults++;
            s_copyFrame = frame;
            return;
        }
        // Not ours: map nothing; the fault repeats and the host stops the storm.
        s_badFaults++;
    }

    private static void Copy(ulong destination, ulong source)
    {
        ulong* d = (ulong*)destination;
        ulong* s = (ulong*)source;
        for (int i = 0; i < 512; i++)
            d[i] = s[i];
    }

    private static int PageFault(long operations)
    {
        s_space = SpaceWithTables(FaultBase, operations);
        if (s_space.IsPlatform)
            return NoFrames("page-fault: address space");
        s_handlerMode = 1;
        Paging.SetPageFaultHandler(&OnPageFault);
        s_space.Switch();
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
            *(ulong*)(FaultBase + (ulong)i * PageSize) = (ulong)i + 1; // faults: the handler maps a frame, the store runs again
        Measurement.Stop(operations);
        Paging.Switch(AddressSpace.Platform);
        if (s_badFaults != 0 || s_faults != (ulong)operations)
            return Report.Failure("page-fault: faults taken", (int)s_faults, WorkloadProtocol.ExitVerifyFailed);
        for (long i = 0; i < operations; i++)
        {
            ulong frame = s_space.Lookup(FaultBase + (ulong)i * PageSize) & Paging.FrameMask;
            if (frame == 0 || *(ulong*)frame != (ulong)i + 1)
                return Report.Failure("page-fault: a page does not hold what was stored", (int)i, WorkloadProtocol.ExitVerifyFailed);
        }
        return WorkloadProtocol.ExitOk;
    }

    private static int MapUnmap(long operations)
    {
        s_space = SpaceWithTables(MapBase, Batch);
        ulong* frames = stackalloc ulong[Batch];
        for (int i = 0; i < Batch; i++)
            if ((frames[i] = Frames.Allocate()) == 0)
                return NoFrames("map-unmap: frames");
        if (s_space.IsPlatform)
            return NoFrames("map-unmap: address space");
        s_space.Switch();
        ulong wrong = 0;
        Measurement.Start(operations);
        for (long op = 0; op < operations; op++)
        {
            for (int i = 0; i < Batch; i++)
                s_space.Map(MapBase + (ulong)i * PageSize, frames[i], PageFlags.Writable);
            if (Paging.Commit() != 0)
                return Refused("map-unmap: map");
            // Verify: a store through each new mapping lands in its frame.
            for (int i = 0; i < Batch; i++)
            {
                ulong value = ((ulong)op << 8) | (uint)i;
                *(ulong*)(MapBase + (ulong)i * PageSize) = value;
                wrong += *(ulong*)frames[i] != value ? 1UL : 0UL;
            }
            for (int i = 0; i < Batch; i++)
                s_space.Unmap(MapBase + (ulong)i * PageSize);
            if (Paging.Commit() != 0)
                return Refused("map-unmap: unmap");
        }
        Measurement.Stop(operations);
        for (int i = 0; i < Batch; i++)
            wrong += s_space.Lookup(MapBase + (ulong)i * PageSize) != 0 ? 1UL : 0UL;
        Paging.Switch(AddressSpace.Platform);
        return wrong == 0 ? WorkloadProtocol.ExitOk : Report.Failure("map-unmap: a mapping is wrong", (int)wrong, WorkloadProtocol.ExitVerifyFailed);
    }

    private static int Protect(long operations)
    {
        s_space = SpaceWithTables(ProtectBase, Batch);
        if (s_space.IsPlatform)
            return NoFrames("protect: address space");
        for (int i = 0; i < Batch; i++)
        {
            ulong frame = Frames.Allocate();
            if (frame == 0)
                return NoFrames("protect: frames");
            s_space.Map(ProtectBase + (ulong)i * PageSize, frame, PageFlags.Writable);
        }
        if (Paging.Commit() != 0)
            return Refused("protect: map");
        s_space.Switch();
        ulong wrong = 0;
        Measurement.Start(operations);
        for (long op = 0; op < operations; op++)
        {
            for (int i = 0; i < Batch; i++)
                s_space.Protect(ProtectBase + (ulong)i * PageSize, PageFlags.ReadOnly);
            if (Paging.Commit() != 0)
                return Refused("protect: read-only");
            // Verify: every entry is read-only now, and the pages still read what was written.
            for (int i = 0; i < Batch; i++)
            {
                ulong address = ProtectBase + (ulong)i * PageSize;
                wrong += (s_space.Lookup(address) & Paging.Writable) != 0 ? 1UL : 0UL;
                wrong += op > 0 && *(ulong*)address != (ulong)(op - 1) ? 1UL : 0UL;
            }
            for (int i = 0; i < Batch; i++)
                s_space.Protect(ProtectBase + (ulong)i * PageSize, PageFlags.Writable);
            if (Paging.Commit() != 0)
                return Refused("protect: writable");
            // Verify: each page takes a store again (a read-only one would fault: no handler, the VM stops).
            for (int i = 0; i < Batch; i++)
                *(ulong*)(ProtectBase + (ulong)i * PageSize) = (ulong)op;
        }
        Measurement.Stop(operations);
        Paging.Switch(AddressSpace.Platform);
        return wrong == 0 ? WorkloadProtocol.ExitOk : Report.Failure("protect: a page kept the wrong rights or data", (int)wrong, WorkloadProtocol.ExitVerifyFailed);
    }

    private static int ContextSwitch(long operations)
    {
        AddressSpace a = SpaceWithTables(SwitchBase, 1), b = SpaceWithTables(SwitchBase, 1);
        ulong frameA = Frames.Allocate(), frameB = Frames.Allocate();
        if (a.IsPlatform || b.IsPlatform || frameA == 0 || frameB == 0)
            return NoFrames("context-switch: address spaces");
        a.Map(SwitchBase, frameA, PageFlags.Writable);
        b.Map(SwitchBase, frameB, PageFlags.Writable);
        if (Paging.Commit() != 0)
            return Refused("context-switch: map");
        ulong* page = (ulong*)SwitchBase;
        Measurement.Start(operations);
        for (long op = 0; op < operations; op++)
        {
            // One switch, one touch of the same virtual page: it must land in this space's frame.
            ((op & 1) == 0 ? a : b).Switch();
            *page = (ulong)op;
        }
        Measurement.Stop(operations);
        Paging.Switch(AddressSpace.Platform);
        ulong last = (ulong)operations - 1;
        bool ok = operations < 2 || (*(ulong*)((last & 1) == 0 ? frameA : frameB) == last && *(ulong*)((last & 1) == 0 ? frameB : frameA) == last - 1);
        return ok ? WorkloadProtocol.ExitOk : Report.Failure("context-switch: a store landed in the wrong space", -1, WorkloadProtocol.ExitVerifyFailed);
    }

    private static int Fork(long operations)
    {
        AddressSpace parent = SpaceWithTables(ForkBase, ForkPages);
        if (parent.IsPlatform)
            return NoFrames("fork: address space");
        for (int i = 0; i < ForkPages; i++)
        {
            ulong frame = Frames.Allocate();
            if (frame == 0)
                return NoFrames("fork: frames");
            *(ulong*)frame = (ulong)i;
            parent.Map(ForkBase + (ulong)i * PageSize, frame, PageFlags.Writable);
        }
        if (Paging.Commit() != 0)
            return Refused("fork: map");
        s_handlerMode = 2;
        Paging.SetPageFaultHandler(&OnPageFault);
        parent.Switch();
        const int Written = 7;
        ulong* written = (ulong*)(ForkBase + Written * PageSize);
        ulong wrong = 0;
        Measurement.Start(operations);
        for (long op = 0; op < operations; op++)
        {
            // Copy: both sides read-only, the child shares every frame.
            AddressSpace child = AddressSpace.Create();
            if (child.IsPlatform)
                return NoFrames("fork: child");
            s_child = child;
            for (int i = 0; i < ForkPages; i++)
            {
                ulong address = ForkBase + (ulong)i * PageSize;
                ulong frame = parent.Lookup(address) & Paging.FrameMask;
                parent.Protect(address, PageFlags.ReadOnly);
                child.Map(address, frame, PageFlags.ReadOnly);
            }
            if (Paging.Commit() != 0)
                return Refused("fork: copy");
            // The child writes one page: a write fault, the handler copies the frame.
            child.Switch();
            ulong before = s_faults;
            *written = 0xC0FFEE00UL + (ulong)op;
            wrong += s_faults != before + 1 ? 1UL : 0UL;
            wrong += *written != 0xC0FFEE00UL + (ulong)op ? 1UL : 0UL;
            parent.Switch();
            wrong += *written != Written ? 1UL : 0UL; // the parent still sees its own data
            // Tear down: the parent writable again, the child's tables and its copied frame gone.
            for (int i = 0; i < ForkPages; i++)
                parent.Protect(ForkBase + (ulong)i * PageSize, PageFlags.Writable);
            child.Destroy();
            Frames.Free(s_copyFrame);
        }
        Measurement.Stop(operations);
        Paging.Switch(AddressSpace.Platform);
        if (s_badFaults != 0 || s_faults != (ulong)operations)
            return Report.Failure("fork: copy-on-write faults", (int)s_faults, WorkloadProtocol.ExitVerifyFailed);
        return wrong == 0 ? WorkloadProtocol.ExitOk : Report.Failure("fork: a side saw the other's data", (int)wrong, WorkloadProtocol.ExitVerifyFailed);
    }
}
