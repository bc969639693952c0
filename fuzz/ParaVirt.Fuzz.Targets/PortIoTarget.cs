using System;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Console;
using ParaVirt.Devices.Emulated;
using ParaVirt.Devices.Emulated.Timing;

namespace ParaVirt.Fuzz.Targets;

/// <summary>
/// Port I/O sequences on an <see cref="IoBus"/> with the legacy devices (16550 UART, ATA PIO disk,
/// 8254 PIT, CMOS RTC; <see cref="LegacyPlatform.Attach(IoBus, GuestConsole, Core.Storage.DiskImage?, IClock, DateTime, Core.Memory.GuestMemory?)"/>)
/// over a 64-sector disk and a manual clock. Oracle: no exception; the disk file keeps its size (no
/// write past the disk); the disk is unchanged unless a WRITE SECTORS command (0x30/0x31) reached the
/// command port; bounded work per op: an op allocates at most <see cref="MaxAllocationPerOp"/> bytes.
/// </summary>
/// <remarks>
/// Input: a stream of ops. Op byte: bits 7-6 kind (0 write, 1 read, 2 advance the clock, 3 repeat a
/// data-port op), bits 5-4 size (1, 2, 4 bytes; 3 means 1), then a port selector byte (an index into
/// the devices' ports and a few unclaimed ones; 0xFF: a raw 16-bit port follows) and a 32-bit value
/// for writes. Repeat: a count byte, then the op runs count*4+1 times (a sector is 256 words).
/// </remarks>
public sealed class PortIoTarget : IFuzzTarget
{
    /// <summary>The most one port access may allocate.</summary>
    public const long MaxAllocationPerOp = 16 * 1024;

    private const ulong Sectors = 64;

    private static readonly ushort[] Ports =
    [
        0x40, 0x41, 0x42, 0x43, 0x70, 0x71,
        0x1F0, 0x1F1, 0x1F2, 0x1F3, 0x1F4, 0x1F5, 0x1F6, 0x1F7, 0x3F6,
        0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF,
        0x1F0, 0x1F0, 0x1F7, // the data and command ports again: they matter most
        0x80, 0x3F7, 0x44, 0x72,
    ];

    private readonly ScratchDisk _disk = new(Sectors);
    private readonly byte[] _snapshot;
    private readonly GuestConsole _console = new(null);

    /// <summary>Creates the scratch disk once.</summary>
    public PortIoTarget()
    {
        _snapshot = new byte[_disk.Length + 1];
    }

    /// <inheritdoc/>
    public string Name => "portio";

    /// <inheritdoc/>
    public void Run(ReadOnlySpan<byte> input)
    {
        _disk.Reset();
        var bus = new IoBus("pio");
        var clock = new ManualClock(1_000_000_000);
        LegacyPlatform.Attach(bus, _console, _disk.Image, clock, new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc));
        var reader = new FuzzInput(input);
        Span<byte> data = stackalloc byte[4];
        int ops = 0;
        bool writeCommand = false;
        while (!reader.End && ops < 100_000)
        {
            byte op = reader.U8();
            int kind = op >> 6;
            int size = ((op >> 4) & 3) switch { 1 => 2, 2 => 4, _ => 1 };
            if (kind == 2)
            {
                clock.Advance((long)reader.U32() * 1000);
                continue;
            }
            byte selector = reader.U8();
            ushort port = selector == 0xFF ? reader.U16() : Ports[selector % Ports.Length];
            bool write = kind == 0 || (kind == 3 && (op & 1) == 0);
            uint value = write ? reader.U32() : 0;
            int repeat = kind == 3 ? reader.U8() * 4 + 1 : 1;
            for (int i = 0; i < repeat; i++, ops++)
            {
                Span<byte> bytes = data[..size];
                for (int b = 0; b < size; b++)
                    bytes[b] = (byte)(value >> (8 * b));
                const ushort CommandPort = 0x1F7;
                if (write && port <= CommandPort && port + size > CommandPort && bytes[CommandPort - port] is 0x30 or 0x31)
                    writeCommand = true;
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    if (write)
                        bus.Write(port, bytes);
                    else
                        bus.Read(port, bytes);
                }
                catch (Exception ex)
                {
                    throw new OracleViolationException($"{(write ? "out" : "in")} {size} byte(s) at port 0x{port:x} threw {ex.GetType().Name}: {ex.Message}", ex);
                }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                OracleViolationException.Check(allocated <= MaxAllocationPerOp,
                    $"{(write ? "out" : "in")} {size} byte(s) at port 0x{port:x} allocated {allocated} bytes (limit {MaxAllocationPerOp})");
            }
        }
        long length = _disk.Snapshot(_snapshot);
        OracleViolationException.Check(length == _disk.Length, $"the disk file is {length} bytes after the ops, not {_disk.Length}");
        if (!writeCommand)
        {
            int changed = _snapshot.AsSpan(0, _disk.Length).CommonPrefixLength(_disk.Pattern);
            OracleViolationException.Check(changed == _disk.Length, $"sector {changed / 512} changed without a WRITE SECTORS command");
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _disk.Dispose();
}
