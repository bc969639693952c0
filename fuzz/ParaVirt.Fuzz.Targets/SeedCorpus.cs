using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using MessagePack;
using ParaVirt.Abi;
using ParaVirt.Image;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// The hand-made seed inputs of each target (fuzz/corpus/TARGET holds them as files, written by
/// `ParaVirt.Fuzz TARGET seeds DIR`): small valid or nearly valid inputs that reach each device's
/// and parser's main paths, for the fuzzer to mutate.
/// </summary>
public static class SeedCorpus
{
    /// <summary>The seeds of <paramref name="target"/> by file name.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> For(string target) => target switch
    {
        "pvimg" => PvImage(),
        "hostcall" => HostCall(),
        "virtio" => Virtio(),
        "virtio-async" => VirtioAsync(),
        "trap" => Trap(),
        "portio" => PortIo(),
        "nvme" => Nvme(),
        _ => throw new ArgumentException($"unknown fuzz target '{target}'", nameof(target)),
    };

    private static List<(string, byte[])> PvImage()
    {
        const uint Abi = (AbiVersion.Major << 16) | AbiVersion.Minor;
        const ulong Load = 0x200000;
        byte[] code = [0x48, 0x31, 0xC0, 0xF4, 0xEB, 0xFD, 0x90, 0x90];
        byte[] one = PvImageWriter.Write(new PvImage(Abi, Load, Load, 0x2000,
            [new PvSection(".text", Load, 0x1000, SectionPermissions.Read | SectionPermissions.Execute, code)]));
        byte[] four = PvImageWriter.Write(new PvImage(Abi, Load + 4, Load, 0x5000,
        [
            new PvSection(".text", Load, 0x1000, SectionPermissions.Read | SectionPermissions.Execute, code),
            new PvSection(".rodata", Load + 0x1000, 0x1000, SectionPermissions.Read, "hello, fuzz\0"u8.ToArray()),
            new PvSection(".data", Load + 0x2000, 0x1000, SectionPermissions.Read | SectionPermissions.Write, [1, 2, 3, 4]),
            new PvSection(".bss", Load + 0x3000, 0x2000, SectionPermissions.Read | SectionPermissions.Write, []),
        ]));
        return
        [
            ("one-section-fixup", [1, .. one]),
            ("one-section-exact", [0, .. one]),
            ("four-sections-fixup", [1, .. four]),
            ("header-only-fixup", [1, .. one.AsSpan(0, PvImageFormat.HeaderSize)]),
        ];
    }

    private static List<(string, byte[])> HostCall()
    {
        var seeds = new List<(string, byte[])>
        {
            ("f0_i64", Request(64, "f0_i64")),
            ("f1_str", Request(64, "f1_str", "hi")),
            ("f1_bin", Request(64, "f1_bin", new byte[] { 1, 2, 3 })),
            ("f2_i64_u64", Request(64, "f2_i64_u64", -1L, 7UL)),
            ("f2_bool_i32", Request(64, "f2_bool_i32", true, 5)),
            ("f3_bool_str_bin", Request(64, "f3_bool_str_bin", false, "x", new byte[] { 9 })),
            ("f3_bin_i64_u64", Request(64, "f3_bin_i64_u64", new byte[] { 1 }, 2L, 3UL)),
            ("fail", Request(64, "fail")),
            ("big-too-large", Request(65535, "big", 70000)),
            ("big-small-capacity", Request(8, "big", 100)),
            ("nil_string", Request(64, "nil_string")),
            ("wrong-arity", Request(64, "f1_i64")),
            ("unknown", Request(64, "nope", 1L)),
        };
        return seeds;
    }

    private static byte[] Request(ushort capacity, string name, params object[] args)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        writer.Write(name);
        writer.WriteArrayHeader(args.Length);
        foreach (object arg in args)
        {
            switch (arg)
            {
                case long l: writer.Write(l); break;
                case ulong u: writer.Write(u); break;
                case int i: writer.Write(i); break;
                case bool b: writer.Write(b); break;
                case string s: writer.Write(s); break;
                case byte[] bytes: writer.Write(bytes); break;
            }
        }
        writer.Flush();
        return [(byte)capacity, (byte)(capacity >> 8), .. buffer.WrittenSpan];
    }

    // --- virtio: op codes of VirtioTarget.Step ---
    private const byte OpNotify = 4, OpPoke = 5, OpDesc = 6, OpPublish = 7, OpHeader = 8, OpReadConfig = 9, OpDeviceInfo = 10, OpAvailIdx = 11, OpSetup = 12, OpBindAsync = 14, OpRing = 15;
    private const byte SetupBindAsync = 2; // OpSetup flag: bind every queue to the asynchronous transport

    private static List<(string, byte[])> Virtio()
    {
        var rw = new SeedWriter();
        rw.U8(OpSetup).U8(0).U8(0);
        BlockRequest(rw, 0, type: 1, sector: 3, data: 0x11000, length: 1024);
        BlockRequest(rw, 1, type: 0, sector: 3, data: 0x13000, length: 512);
        rw.U8(OpReadConfig).U8(0).U8(0).Addr(0x18000).U8(24);
        rw.U8(OpDeviceInfo).U8(1).Addr(0x18100);

        var split = new SeedWriter();
        split.U8(OpSetup).U8(0).U8(0);
        split.U8(OpHeader).Addr(0x10000).U8(1).U8(30);
        split.U8(OpDesc).U8(0).U8(0).U8(0).Addr(0x10000).U32(8).U8(1).U8(1);
        split.U8(OpDesc).U8(0).U8(0).U8(1).Addr(0x10008).U32(8 + 300).U8(1).U8(2);
        split.U8(OpDesc).U8(0).U8(0).U8(2).Addr(0x11000).U32(724).U8(1).U8(3);
        split.U8(OpDesc).U8(0).U8(0).U8(3).Addr(0x12000).U32(1).U8(2).U8(0);
        split.U8(OpPublish).U8(0).U8(0).U8(0);
        split.U8(OpNotify).U8(0).U8(0);

        var indirect = new SeedWriter();
        indirect.U8(OpSetup).U8(0).U8(0);
        indirect.U8(OpHeader).Addr(0x10000).U8(1).U8(7);
        var table = new SeedWriter();
        table.U64(0x10000).U32(16).U16(1).U16(1);
        table.U64(0x11000).U32(512).U16(1).U16(2);
        table.U64(0x12000).U32(1).U16(2).U16(0);
        indirect.U8(OpPoke).Addr(0x15000).U8((byte)table.Length).Bytes(table.ToArray());
        indirect.U8(OpDesc).U8(0).U8(0).U8(0).Addr(0x15000).U32(48).U8(4).U8(0);
        indirect.U8(OpPublish).U8(0).U8(0).U8(0);
        indirect.U8(OpNotify).U8(0).U8(0);

        var console = new SeedWriter();
        console.U8(OpSetup).U8(1).U8(0);
        console.U8(OpPoke).Addr(0x13000).U8(6).Bytes("hello\n"u8.ToArray());
        console.U8(OpDesc).U8(1).U8(1).U8(0).Addr(0x13000).U32(6).U8(0).U8(0);
        console.U8(OpPublish).U8(1).U8(1).U8(0);
        console.U8(OpNotify).U8(1).U8(1);
        console.U8(OpDesc).U8(1).U8(0).U8(0).Addr(0x14000).U32(64).U8(2).U8(0);
        console.U8(OpPublish).U8(1).U8(0).U8(0);
        console.U8(OpNotify).U8(1).U8(0);

        var hostile = new SeedWriter();
        hostile.U8(OpSetup).U8(0).U8(0);
        BlockRequest(hostile, 0, type: 1, sector: 31, data: 0x11000, length: 1024);
        hostile.U8(OpAvailIdx).U8(0).U8(0).U16(1000);
        hostile.U8(OpNotify).U8(0).U8(0);
        hostile.U8(0).U8(0).U8(0); // reset
        hostile.U8(3).U8(0).U8(0).Addr(0x20000).Addr(0x1400).Addr(0x1800).U16(16); // a ring in the canary hole
        hostile.U8(OpNotify).U8(0).U8(0);

        return [("blk-write-read", rw.ToArray()), ("blk-split-header", split.ToArray()), ("blk-indirect", indirect.ToArray()),
            ("console-tx-rx", console.ToArray()), ("hostile-idx-and-ring", hostile.ToArray())];
    }

    /// <summary>virtio-async: the virtio seeds, and seeds that bind queues with hypercall 25 and ring their doorbells.</summary>
    private static List<(string, byte[])> VirtioAsync()
    {
        List<(string, byte[])> seeds = Virtio();
        // The asynchronous transport: hypercall 25 binds the queues during setup, the doorbell runs the device thread.
        var asyncBlock = new SeedWriter();
        asyncBlock.U8(OpSetup).U8(0).U8(SetupBindAsync);
        BlockRequest(asyncBlock, 0, type: 1, sector: 5, data: 0x11000, length: 2048, ring: true);
        BlockRequest(asyncBlock, 1, type: 0, sector: 5, data: 0x13000, length: 2048, ring: true);

        var asyncConsole = new SeedWriter();
        asyncConsole.U8(OpSetup).U8(1).U8(SetupBindAsync);
        asyncConsole.U8(OpPoke).Addr(0x13000).U8(6).Bytes("async\n"u8.ToArray());
        asyncConsole.U8(OpDesc).U8(1).U8(1).U8(0).Addr(0x13000).U32(6).U8(0).U8(0);
        asyncConsole.U8(OpPublish).U8(1).U8(1).U8(0);
        asyncConsole.U8(OpRing).U8(1).U8(1);
        asyncConsole.U8(OpDesc).U8(1).U8(0).U8(0).Addr(0x14000).U32(64).U8(2).U8(0);
        asyncConsole.U8(OpPublish).U8(1).U8(0).U8(0);
        asyncConsole.U8(OpRing).U8(1).U8(0);

        var asyncHostile = new SeedWriter();
        asyncHostile.U8(OpSetup).U8(0).U8(SetupBindAsync);
        BlockRequest(asyncHostile, 0, type: 1, sector: 31, data: 0x11000, length: 1024, ring: true);
        asyncHostile.U8(OpAvailIdx).U8(0).U8(0).U16(1000);
        asyncHostile.U8(OpRing).U8(0).U8(0);             // the device thread finds the ring broken: NEEDS_RESET
        asyncHostile.U8(OpBindAsync).U8(0).U8(0);        // refused: not in the setup phase
        asyncHostile.U8(0).U8(0).U8(0);                  // reset: the queue is synchronous again
        asyncHostile.U8(OpRing).U8(0).U8(0);             // the thread wakes and does nothing
        asyncHostile.U8(OpSetup).U8(1).U8(0);            // console without the asynchronous transport
        asyncHostile.U8(OpBindAsync).U8(1).U8(1);        // after DRIVER_OK: refused

        seeds.AddRange([("async-blk-write-read", asyncBlock.ToArray()), ("async-console-tx-rx", asyncConsole.ToArray()), ("async-hostile-ring-and-binds", asyncHostile.ToArray())]);
        return seeds;
    }

    // --- nvme: op codes of NvmeTarget.Step ---
    private const byte NvRegWrite32 = 0, NvRegRead = 2, NvDoorbell = 3, NvEntry = 5, NvBringUp = 6, NvRaw = 7;
    private const byte NvCc = 4, NvCsts = 5; // register selectors (NvmeTarget.Registers)

    private static List<(string, byte[])> Nvme()
    {
        var rw = new SeedWriter();
        rw.U8(NvBringUp).U8(0);
        NvmeIo(rw, slot: 0, opcode: 1, cid: 1, lba: 2, blocks: 4, prp1: 0x10000);
        rw.U8(NvDoorbell).U8(1).U8(1);                 // SQ 1 tail 1
        NvmeIo(rw, slot: 1, opcode: 2, cid: 2, lba: 2, blocks: 4, prp1: 0x11000);
        rw.U8(NvDoorbell).U8(1).U8(2);                 // SQ 1 tail 2
        rw.U8(NvDoorbell).U8(0x81).U8(2);              // CQ 1 head 2
        NvmeIo(rw, slot: 2, opcode: 0, cid: 3, lba: 0, blocks: 1, prp1: 0);
        rw.U8(NvDoorbell).U8(1).U8(3);                 // a flush

        var prps = new SeedWriter();
        prps.U8(NvBringUp).U8(1);                      // completion queue with interrupts
        prps.U8(NvEntry).U16((ushort)(0x4000 / 64)).U8(0).U8(2).U16(7).U8(0xFF).U64(0xF000_0000).Addr(0).U8(0).U8(7); // PRP1 outside memory
        prps.U8(NvEntry).U16((ushort)(0x4040 / 64)).U8(0).U8(2).U16(8).Addr(0x10000).Addr(0x20000).U8(0).U8(23);      // a PRP list in the hole
        prps.U8(NvEntry).U16((ushort)(0x4080 / 64)).U8(0).U8(1).U16(9).Addr(0x10000).Addr(0x15000).U8(0).U8(23);      // a PRP list in memory
        prps.U8(NvDoorbell).U8(1).U8(3);

        var hostile = new SeedWriter();
        hostile.U8(NvBringUp).U8(0);
        NvmeIo(hostile, slot: 0, opcode: 2, cid: 5, lba: 0, blocks: 1, prp1: 0x10000);
        NvmeIo(hostile, slot: 1, opcode: 1, cid: 5, lba: 1, blocks: 1, prp1: 0x10000); // the same command ID
        hostile.U8(NvDoorbell).U8(1).U8(2);
        hostile.U8(NvDoorbell).U8(0x81).U8(5);         // CQ head past the entries posted: CFS
        hostile.U8(NvRegWrite32).U8(NvCc).U32(0);      // reset
        hostile.U8(NvBringUp).U8(0);
        hostile.U8(NvDoorbell).U8(1).U8(16);           // SQ tail at the queue size: CFS
        hostile.U8(NvBringUp).U8(0);
        hostile.U8(NvDoorbell).U8(0xC1).U32(0xFFFF_FFFF); // CQ head far past the size: CFS
        hostile.U8(NvBringUp).U8(0);
        hostile.U8(NvDoorbell).U8(3).U8(1);            // a queue never created: CFS
        hostile.U8(NvRegRead).U8(NvCsts).U8(0);

        var registers = new SeedWriter();
        for (byte r = 0; r < 11; r++)
            registers.U8(NvRegRead).U8(r).U8(r);
        registers.U8(NvRaw).U8(0x0 | 1).U16(0x1C).U64(0);     // 2-byte read of CSTS: stray
        registers.U8(NvRaw).U8(0x8 | 7).U16(0x1000).U64(1);   // 8-byte doorbell write: stray
        registers.U8(NvRegWrite32).U8(NvCc).U32(NvmeRegistersCcBadPageSize);
        registers.U8(NvRegRead).U8(NvCsts).U8(0);

        return [("bring-up-write-read-flush", rw.ToArray()), ("prps-outside-and-lists", prps.ToArray()),
            ("hostile-cid-phase-doorbells", hostile.ToArray()), ("registers-and-strays", registers.ToArray())];
    }

    private const uint NvmeRegistersCcBadPageSize = 1u | 1u << 7 | 6u << 16 | 4u << 20; // EN with MPS = 1: enable fails

    /// <summary>An NVM command in slot <paramref name="slot"/> of I/O submission queue 1 (at 0x4000), namespace 1.</summary>
    private static void NvmeIo(SeedWriter w, int slot, byte opcode, ushort cid, byte lba, byte blocks, ulong prp1) =>
        w.U8(NvEntry).U16((ushort)((0x4000 + 64 * slot) / 64)).U8(0).U8(opcode).U16(cid).Addr(prp1).Addr(0).U8(lba).U8((byte)(blocks - 1));

    /// <summary>[header R 16][data R or W][status W 1] in descriptors 3k..3k+2 of the block queue, published and notified (or its doorbell rung).</summary>
    private static void BlockRequest(SeedWriter w, byte k, byte type, byte sector, ulong data, uint length, bool ring = false)
    {
        byte d = (byte)(3 * k);
        ulong header = 0x10000 + 0x100UL * k, status = 0x12000 + 0x10UL * k;
        w.U8(OpHeader).Addr(header).U8(type).U8(sector);
        w.U8(OpDesc).U8(0).U8(0).U8(d).Addr(header).U32(16).U8(1).U8((byte)(d + 1));
        w.U8(OpDesc).U8(0).U8(0).U8((byte)(d + 1)).Addr(data).U32(length).U8((byte)(type == 1 ? 1 : 3)).U8((byte)(d + 2));
        w.U8(OpDesc).U8(0).U8(0).U8((byte)(d + 2)).Addr(status).U32(1).U8(2).U8(0);
        w.U8(OpPublish).U8(0).U8(0).U8(d);
        w.U8(ring ? OpRing : OpNotify).U8(0).U8(0);
    }

    private static List<(string, byte[])> Trap()
    {
        (string Name, byte[] Code, byte Vector)[] cases =
        [
            ("cli", [0xFA], 13), ("sti", [0xFB], 13), ("hlt", [0xF4], 13), ("mov-rax-cr0", [0x0F, 0x20, 0xC0], 13),
            ("mov-cr3-rax", [0x0F, 0x22, 0xD8], 13), ("mov-cr0-rax", [0x0F, 0x22, 0xC0], 13), ("rdmsr", [0x0F, 0x32], 13),
            ("wrmsr", [0x0F, 0x30], 13), ("cpuid", [0x0F, 0xA2], 13), ("invlpg", [0x0F, 0x01, 0x38], 13),
            ("lidt", [0x0F, 0x01, 0x18], 13), ("lgdt", [0x0F, 0x01, 0x10], 13), ("in-imm", [0xE4, 0x40], 13),
            ("out-imm", [0xE6, 0x43], 13), ("in-dx", [0xEC], 13), ("out-dx", [0xEE], 13), ("rep-insb", [0xF3, 0x6C], 13),
            ("rep-outsw", [0x66, 0xF3, 0x6F], 13), ("sti-iretq", [0xFB, 0x48, 0xCF], 13), ("ud2", [0x0F, 0x0B], 6),
            ("invalid", [0xFF, 0xFF, 0xFF, 0xFF], 6), ("page-fault", [0x90], 14),
        ];
        var seeds = new List<(string, byte[])>();
        foreach ((string name, byte[] code, byte vector) in cases)
            seeds.Add((name, TrapSeed(code, vector)));
        return seeds;
    }

    private static byte[] TrapSeed(byte[] code, byte vector)
    {
        const uint IdtOffset = 0x40, StackOffset = 0x8000, OperandOffset = 0x200, BufferOffset = 0x400, Handler = 0x300;
        var w = new SeedWriter();
        w.U8(vector switch { 13 => 0, 6 => 1, _ => 2 });
        w.U32(0).U64(0x20123);
        w.U8(3).U32(IdtOffset).U16(15 * 16 - 1);
        // RAM-relative: RAX (operand), RSI, RDI (string buffers), RSP, RIP; raw: the rest.
        uint relative = 1u << 0 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 16;
        w.U32(relative);
        w.U32(OperandOffset).U64(0).U64(4).U64(0x40); // rax rbx rcx rdx
        w.U32(BufferOffset).U32(BufferOffset).U32(StackOffset); // rsi rdi rsp
        for (int i = 7; i < 16; i++)
            w.U64(0);
        w.U32(0).U64(0x202); // rip, rflags
        w.U8(1); // traps - 1
        var ram = new byte[IdtOffset + 15 * 16];
        code.CopyTo(ram, 0);
        if (code.Length >= 3 && code[0] == 0xFB && code[1] == 0x48)
            ram[0x30] = 0x90;
        const ulong HandlerAddress = MemoryOnlyEngine.GuestRamStart + Handler;
        for (int v = 0; v < 15; v++)
        {
            Span<byte> gate = ram.AsSpan((int)IdtOffset + 16 * v, 16);
            BitConverter.TryWriteBytes(gate, unchecked((ushort)HandlerAddress));
            BitConverter.TryWriteBytes(gate[2..], (ushort)0x08);
            BitConverter.TryWriteBytes(gate[4..], (ushort)0x8E00);
            BitConverter.TryWriteBytes(gate[6..], (ushort)(HandlerAddress >> 16));
            BitConverter.TryWriteBytes(gate[8..], (uint)(HandlerAddress >> 32));
        }
        return [.. w.ToArray(), .. ram];
    }

    // --- port I/O: ops of PortIoTarget ---
    private static List<(string, byte[])> PortIo()
    {
        var pit = new SeedWriter();
        pit.Out(3, 0x34).Out(0, 0x9C).Out(0, 0x2E).Advance(5_000).In(0).In(0).Out(3, 0xC2).In(0).In(0).In(0)
            .Out(3, 0xB6).Out(2, 0x33).Out(2, 0x12).Out(3, 0x00).In(0).In(0);
        var rtc = new SeedWriter();
        foreach (byte index in (ReadOnlySpan<byte>)[0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x32, 0x7F])
            rtc.Out(4, index).In(5);
        rtc.Out(4, 0x0B).Out(5, 0x46).Out(4, 0x0A).Out(5, 0x26).Advance(1_000_000).Out(4, 0x0C).In(5).Out(4, 0x8F).Out(5, 0x55);
        var uart = new SeedWriter();
        uart.Out(18, 0x80).Out(15, 0x01).Out(16, 0x00).Out(18, 0x03).Out(17, 0x07).Out(19, 0x0B);
        foreach (byte c in "Hi\n"u8)
            uart.Out(15, c);
        uart.In(20).In(17).In(15).Out(19, 0x10).Out(15, 0x41).In(15).In(21).Out(22, 0x5A).In(22);
        var identify = new SeedWriter();
        identify.Out(12, 0xA0).Out(13, 0xEC).In(13).RepeatIn(6, 2, 64).In(13).Out(14, 0x04).Out(14, 0x00).In(14);
        var lbaWrite = new SeedWriter();
        lbaWrite.Out(12, 0xE0).Out(8, 2).Out(9, 5).Out(10, 0).Out(11, 0).Out(13, 0x30).In(13)
            .RepeatOut(6, 2, 0xBEEF, 127).RepeatOut(6, 2, 0xCAFE, 127).In(13)
            .Out(12, 0xE0).Out(8, 2).Out(9, 5).Out(13, 0x20).RepeatIn(6, 2, 127).RepeatIn(6, 2, 127).In(13)
            .Out(13, 0xE7).In(13).Out(12, 0xE0).Out(8, 1).Out(9, 63).Out(13, 0x30).RepeatOut(6, 4, 0x01020304, 32).In(13);
        var chs = new SeedWriter();
        chs.Out(12, 0xA1).Out(8, 16).Out(13, 0x91).Out(12, 0xA0).Out(8, 1).Out(9, 1).Out(10, 0).Out(11, 0).Out(13, 0x30)
            .RepeatOut(6, 2, 0x1234, 64).In(13).Out(12, 0xB0).Out(13, 0xEC).In(13).Out(12, 0xA0).Out(13, 0xEF).In(9).Out(8, 0x50).In(13);
        return [("pit", pit.ToArray()), ("rtc", rtc.ToArray()), ("uart", uart.ToArray()), ("ata-identify", identify.ToArray()),
            ("ata-lba-write-read", lbaWrite.ToArray()), ("ata-chs", chs.ToArray())];
    }

    /// <summary>Little-endian builder for the seeds.</summary>
    private sealed class SeedWriter
    {
        private readonly MemoryStream _stream = new();

        public int Length => (int)_stream.Length;

        public SeedWriter U8(byte v)
        {
            _stream.WriteByte(v);
            return this;
        }

        public SeedWriter U16(ushort v) => Bytes(BitConverter.GetBytes(v));

        public SeedWriter U32(uint v) => Bytes(BitConverter.GetBytes(v));

        public SeedWriter U64(ulong v) => Bytes(BitConverter.GetBytes(v));

        public SeedWriter Bytes(byte[] bytes)
        {
            _stream.Write(bytes);
            return this;
        }

        /// <summary>A virtio address: a 16-bit value times 4.</summary>
        public SeedWriter Addr(ulong address) => U8(0).U16((ushort)(address / 4));

        // Port I/O ops: kind<<6 | size<<4, port index, value.
        public SeedWriter Out(byte port, uint value, int size = 1) => U8((byte)(SizeBits(size) << 4)).U8(port).U32(value);

        public SeedWriter In(byte port, int size = 1) => U8((byte)(1 << 6 | SizeBits(size) << 4)).U8(port);

        public SeedWriter Advance(uint microseconds) => U8(2 << 6).U32(microseconds);

        public SeedWriter RepeatOut(byte port, int size, uint value, byte count) => U8((byte)(3 << 6 | SizeBits(size) << 4)).U8(port).U32(value).U8(count);

        public SeedWriter RepeatIn(byte port, int size, byte count) => U8((byte)(3 << 6 | SizeBits(size) << 4 | 1)).U8(port).U8(count);

        private static int SizeBits(int size) => size switch { 2 => 1, 4 => 2, _ => 0 };

        public byte[] ToArray() => _stream.ToArray();
    }
}
