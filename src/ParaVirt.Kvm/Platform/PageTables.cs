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

    public static void Build(GuestMemory memory, ulong privateMemorySize)
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
        MapLow(memory, KvmPlatform.TableWriteList, Present | Writable);

        // Guest RAM in 2 MiB pages.
        for (ulong address = KvmPlatform.GuestRamStart; address < ramSize; address += 2UL << 20)
            Write(memory, KvmPlatform.PdRam + address / (2UL << 20) * 8, address | Present | Writable | User | Large);

        // A supervisor read-write alias of all RAM for the ring-0 table-write path: it rewrites
        // table frames the identity map gives the guest read-only.
        Write(memory, KvmPlatform.Pdpt + KvmPlatform.RamAlias / (1UL << 30) * 8, KvmPlatform.PdRamAlias | Present | Writable);
        for (ulong address = 0; address < ramSize; address += 2UL << 20)
            Write(memory, KvmPlatform.PdRamAlias + address / (2UL << 20) * 8, address | Present | Writable | Large);

        // Host-private memory (4 GiB up), supervisor-only: the ring-0 table-write path reaches the
        // tables kept there; CPL3 cannot, and no guest mapping may name it.
        if (privateMemorySize != 0)
        {
            Write(memory, KvmPlatform.Pdpt + 4 * 8, KvmPlatform.PdPrivate | Present | Writable);
            for (ulong offset = 0; offset < privateMemorySize; offset += 2UL << 20)
                Write(memory, KvmPlatform.PdPrivate + offset / (2UL << 20) * 8, (KvmPlatform.PrivateMemoryStart + offset) | Present | Writable | Large);
        }

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
