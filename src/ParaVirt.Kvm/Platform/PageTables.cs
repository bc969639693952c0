using System;
using ParaVirt.Core.Memory;

namespace ParaVirt.Kvm.Platform;

/// <summary>
/// Builds the identity-mapped 4-level page tables: platform pages supervisor-only, the hypercall
/// and start-info pages user read-only, the shared-info page and guest RAM user read-write, the
/// MMIO window user read-write uncached. The guest runs at CPL3 and cannot change them.
/// </summary>
internal static class PageTables
{
    private const ulong Present = 1, Writable = 2, User = 4, WriteThrough = 8, CacheDisable = 0x10, Large = 0x80;

    public static void Build(GuestMemory memory)
    {
        ulong ramSize = memory.Size;
        Write(memory, KvmPlatform.Pml4, KvmPlatform.Pdpt | Present | Writable | User);
        Write(memory, KvmPlatform.Pdpt + 0 * 8, KvmPlatform.PdRam | Present | Writable | User);
        Write(memory, KvmPlatform.Pdpt + 3 * 8, KvmPlatform.PdMmio | Present | Writable | User);

        // First 2 MiB in 4 KiB pages: only the platform pages exist.
        Write(memory, KvmPlatform.PdRam, KvmPlatform.PtLow | Present | Writable | User);
        for (ulong page = KvmPlatform.Gdt; page < KvmPlatform.Ring0StackTop; page += 4096)
            MapLow(memory, page, Present | Writable);
        MapLow(memory, KvmPlatform.HypercallPage, Present | User);
        MapLow(memory, KvmPlatform.StartInfoPage, Present | User);
        MapLow(memory, KvmPlatform.SharedInfoPage, Present | Writable | User);

        // Guest RAM in 2 MiB pages.
        for (ulong address = KvmPlatform.GuestRamStart; address < ramSize; address += 2UL << 20)
            Write(memory, KvmPlatform.PdRam + address / (2UL << 20) * 8, address | Present | Writable | User | Large);

        // The MMIO window (3 GiB to 4 GiB) in 2 MiB uncached pages.
        for (ulong i = 0; i < 512; i++)
            Write(memory, KvmPlatform.PdMmio + i * 8, (KvmPlatform.MmioStart + i * (2UL << 20)) | Present | Writable | User | WriteThrough | CacheDisable | Large);
    }

    private static void MapLow(GuestMemory memory, ulong page, ulong flags) =>
        Write(memory, KvmPlatform.PtLow + page / 4096 * 8, page | flags);

    private static void Write(GuestMemory memory, ulong address, ulong entry)
    {
        if (!memory.TryWrite(address, entry))
            throw new InvalidOperationException($"page-table entry at 0x{address:x} is outside guest memory");
    }
}
