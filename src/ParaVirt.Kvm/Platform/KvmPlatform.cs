#pragma warning disable CS1591 // each address is documented in the layout table of the class remarks

namespace ParaVirt.Kvm.Platform;

/// <summary>
/// Where the KVM engine puts its platform pages in guest-physical memory (identity-mapped). The
/// first 2 MiB belong to the platform; the guest owns RAM from <see cref="GuestRamStart"/>.
/// </summary>
/// <remarks>
/// <code>
///  0x000000  page 0            not mapped (null pointers fault)
///  0x001000  GDT               supervisor
///  0x002000  IDT               supervisor, 256 gates to the trampolines
///  0x003000  TSS + I/O bitmap  supervisor, 3 pages (RSP0, bitmap of 8 KiB + 0xFF)
///  0x006000  trampolines       supervisor code: exception stubs that exit to the host
///  0x007000  PML4, 0x8000 PDPT, 0x9000 PD (RAM), 0xA000 PT (first 2 MiB), 0xB000 PD (MMIO window)
///  0x00C000  ring-0 stack      supervisor, 16 KiB, top 0x10000
///  0x010000  hypercall page    user, read-only: one stub per hypercall number
///  0x011000  start-info page   user, read-only
///  0x012000  shared-info page  user, read-write
///  0x013000  table-write list  supervisor: table pages the ring-0 resume path rewrites (KvmVcpu.Paging)
///  0x014000  PD (private)      supervisor 2 MiB pages over host-private memory, for the ring-0 path only
///  0x015000  PD (RAM alias)    supervisor read-write 2 MiB alias of RAM at RamAlias, for the ring-0 path only
///  0x200000  guest RAM         user, read-write-execute, 2 MiB pages, to the end of RAM
///  0xC0000000-0xFFFFFFFF       MMIO window: mapped, no memory slot: accesses exit as MMIO
///  0x100000000                 host-private memory (memory slot 1): page tables; mapped supervisor-only
///                              (ring 0's table-write path), never reachable from the guest's CPL3
/// </code>
/// </remarks>
public static class KvmPlatform
{
    public const ulong Gdt = 0x1000;
    public const ulong Idt = 0x2000;
    public const ulong Tss = 0x3000;
    public const ulong Trampolines = 0x6000;
    public const ulong Pml4 = 0x7000;
    public const ulong Pdpt = 0x8000;
    public const ulong PdRam = 0x9000;
    public const ulong PtLow = 0xA000;
    public const ulong PdMmio = 0xB000;
    public const ulong Ring0StackBottom = 0xC000;
    public const ulong Ring0StackTop = 0x10000;
    public const ulong HypercallPage = 0x10000;
    public const ulong StartInfoPage = 0x11000;
    public const ulong SharedInfoPage = 0x12000;
    public const ulong TableWriteList = 0x13000;
    public const ulong PdPrivate = 0x14000;
    public const ulong PdRamAlias = 0x15000;

    /// <summary>Where ring 0 sees all of RAM writable (supervisor-only), whatever the identity map grants the guest.</summary>
    public const ulong RamAlias = 8UL << 30;
    public const ulong GuestRamStart = 0x200000;
    public const ulong MmioStart = 0xC000_0000;
    public const ulong MmioEnd = 0x1_0000_0000;
    public const ulong PrivateMemoryStart = 0x1_0000_0000;

    /// <summary>The largest host-private memory a VM may have (IHostPrivateMemory).</summary>
    public const ulong MaxPrivateMemory = 256UL << 20;

    /// <summary>TSS size up to the I/O bitmap (the bitmap starts right after it).</summary>
    public const int TssHeaderSize = 104;

    /// <summary>I/O permission bitmap: one bit per port, set = denied; followed by one 0xFF byte.</summary>
    public const int IoBitmapSize = 8192;

    /// <summary>Smallest and largest RAM the platform supports (one page directory of 2 MiB pages).</summary>
    public const ulong MinMemory = 4UL << 20, MaxMemory = 1UL << 30;

    /// <summary>GDT selectors.</summary>
    public const ushort KernelCode = 0x08, KernelData = 0x10, UserData = 0x18 | 3, UserCode = 0x20 | 3, TssSelector = 0x28;

    /// <summary>Where the trampoline's exception frame starts when it exits: vector, error code, RIP, CS, RFLAGS, RSP, SS.</summary>
    public const ulong TrapFrame = Ring0StackTop - 7 * 8;
}
