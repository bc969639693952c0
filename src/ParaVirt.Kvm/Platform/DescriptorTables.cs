using System;
using ParaVirt.Abi;
using ParaVirt.Core.Memory;

namespace ParaVirt.Kvm.Platform;

/// <summary>
/// Writes the GDT, the TSS with its I/O permission bitmap, and the IDT whose 256 gates enter the
/// ring-0 trampolines. IOPL stays 0, so <c>cli</c>/<c>sti</c> trap; only ports opened in the bitmap
/// reach the host as port I/O without a trap.
/// </summary>
internal static class DescriptorTables
{
    public static void Build(GuestMemory memory, ReadOnlySpan<ushort> openPorts, ReadOnlySpan<ulong> trampolineEntries)
    {
        // GDT: null, kernel code, kernel data, user data, user code (64-bit), TSS (16 bytes).
        Span<ulong> gdt = stackalloc ulong[7];
        gdt[0] = 0;
        gdt[1] = 0x00AF9A000000FFFF; // ring-0 code, L=1
        gdt[2] = 0x00CF92000000FFFF; // ring-0 data
        gdt[3] = 0x00CFF2000000FFFF; // ring-3 data
        gdt[4] = 0x00AFFA000000FFFF; // ring-3 code, L=1
        ulong tssLimit = KvmPlatform.TssHeaderSize + KvmPlatform.IoBitmapSize; // includes the final 0xFF byte
        ulong tssBase = KvmPlatform.Tss;
        gdt[5] = (tssLimit & 0xFFFF) | ((tssBase & 0xFFFFFF) << 16) | (0x89UL << 40) | (((tssLimit >> 16) & 0xF) << 48) | (((tssBase >> 24) & 0xFF) << 56);
        gdt[6] = tssBase >> 32;
        for (int i = 0; i < gdt.Length; i++)
            Write(memory, KvmPlatform.Gdt + (ulong)i * 8, gdt[i]);

        // TSS: RSP0 at offset 4, I/O map base at offset 102.
        Write(memory, KvmPlatform.Tss + 4, KvmPlatform.Ring0StackTop);
        Write(memory, KvmPlatform.Tss + 102, (ushort)KvmPlatform.TssHeaderSize);
        if (!memory.TryGetSpan(KvmPlatform.Tss + KvmPlatform.TssHeaderSize, KvmPlatform.IoBitmapSize + 1, out Span<byte> bitmap))
            throw new InvalidOperationException("the I/O bitmap is outside guest memory");
        bitmap.Fill(0xFF);
        Open(bitmap, PlatformPorts.Hypercall);
        foreach (ushort port in openPorts)
        {
            if (port == PlatformPorts.Trap)
                throw new ArgumentException($"port 0x{port:x} is the platform's trap port and cannot be opened to the guest");
            Open(bitmap, port);
        }

        // IDT: interrupt gates (IF cleared on entry) to ring-0 trampolines, DPL 0 so that "int n"
        // from the guest raises #GP, except #BP (DPL 3) so int3 reports as a breakpoint.
        for (int vector = 0; vector < 256; vector++)
        {
            ulong target = trampolineEntries[vector];
            byte dpl = vector == 3 ? (byte)3 : (byte)0;
            ulong low = (target & 0xFFFF) | ((ulong)KvmPlatform.KernelCode << 16) | ((ulong)(0x8E | (dpl << 5)) << 40) | (((target >> 16) & 0xFFFF) << 48);
            ulong high = target >> 32;
            Write(memory, KvmPlatform.Idt + (ulong)vector * 16, low);
            Write(memory, KvmPlatform.Idt + (ulong)vector * 16 + 8, high);
        }
    }

    private static void Open(Span<byte> bitmap, ushort port) => bitmap[port >> 3] &= (byte)~(1 << (port & 7));

    private static void Write<T>(GuestMemory memory, ulong address, T value) where T : unmanaged
    {
        if (!memory.TryWrite(address, value))
            throw new InvalidOperationException($"descriptor table entry at 0x{address:x} is outside guest memory");
    }
}
