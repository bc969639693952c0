using ParaVirt.Abi.Legacy;
using ParaVirt.Guest;
using ParaVirt.Guest.Drivers;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// <c>hostile-prd</c> (full mode, <c>disk=ide-dma</c>, for the integration tests): the guest opens
/// the IDE DMA disk normally, then programs the bus master itself with four bad requests: a PRD
/// table outside RAM, a table of 8,192 entries without End Of Table, a region outside RAM, and a
/// READ DMA past the end of the disk. The defined outcome (docs/emulated-devices.md): the first
/// three end with ATA ERR/ABRT and the Bus Master Error bit, Active clear; the last with ERR/IDNF
/// and no transfer. Then the driver starts over and a normal read verifies. Exits 0 only if every
/// step happened, <see cref="WorkloadProtocol.ExitUnexpectedOutcome"/> otherwise.
/// </summary>
internal static unsafe class HostilePrdWorkload
{
    private const ushort BmCommand = IdeBusMasterRegisters.Command, BmStatus = IdeBusMasterRegisters.Status, BmTable = IdeBusMasterRegisters.PrdTableAddress;
    private const uint OutsideRam = 0xF000_0000;

    public static int Run()
    {
#if !PARAVIRT_FULL
        return Report.Failure("hostile-prd exists in full mode only", DriverStatus.Unsupported, WorkloadProtocol.ExitNotInThisMode);
#else
        var disk = new IdeDmaDriver();
        int s = disk.Initialize();
        if (s < 0)
            return Report.Failure("ide-dma init", s, WorkloadProtocol.ExitDeviceInitFailed);
        // A 64 KiB-aligned table of 8,192 entries (the most a table can hold), and a buffer.
        ulong raw = (ulong)Internal.Runtime.BumpAllocator.Allocate(2 * 65536);
        uint* big = (uint*)((raw + 65535) & ~65535UL);
        byte* buffer = (byte*)big + 32768; // never written by a valid entry below
        for (int i = 0; i < IdeBusMasterRegisters.MaxPrdEntries; i++)
        {
            big[2 * i] = (uint)(ulong)buffer;
            big[2 * i + 1] = 2; // two bytes, no EOT
        }
        bool ok = true;
        Cpu.OutByte(AtaRegisters.DeviceControl, AtaRegisters.ControlNoInterrupt);

        // 1. The table itself outside RAM.
        ok &= Expect("table outside RAM", Request(OutsideRam, lba: 0, count: 8), AtaError.Aborted, busMasterError: true);

        // 2. No EOT: 8,192 two-byte regions for a 128 KiB read (count 0 = 256 sectors): 16 KiB at most
        //    are described before the table's 64 KiB window ends.
        ok &= Expect("table without EOT", Request((uint)(ulong)big, lba: 0, count: 0), AtaError.Aborted, busMasterError: true);

        // 3. A region outside RAM (one entry, with EOT).
        uint* small = big + 2 * 8190;
        small[0] = OutsideRam;
        small[1] = 4096 | IdeBusMasterRegisters.PrdEndOfTable;
        ok &= Expect("region outside RAM", Request((uint)(ulong)small, lba: 0, count: 8), AtaError.Aborted, busMasterError: true);

        // 4. Past the end of the disk: the drive refuses it before any DMA.
        small[0] = (uint)(ulong)buffer;
        ok &= Expect("past the end", Request((uint)(ulong)small, lba: disk.SectorCount - 4, count: 8), AtaError.IdNotFound, busMasterError: false);

        // The driver takes the bus master back (its table address was overwritten) and reads normally.
        disk.Recover();
        byte* data = (byte*)ParaVirt.Guest.Virtio.Virtqueue.AllocatePages(4096);
        if ((s = disk.Read(8, 8, data)) < 0)
            return Report.Failure("ide-dma read after the hostile requests", s, WorkloadProtocol.ExitUnexpectedOutcome);
        if (SectorPattern.CountMismatchedSectors(data, 8, 8) != 0)
        {
            Console.WriteLine("hostile-prd: the read after the hostile requests did not verify");
            return WorkloadProtocol.ExitUnexpectedOutcome;
        }
        Console.WriteLine(ok ? "hostile-prd: every bad request got its defined status; the disk works after them" : "hostile-prd: an outcome was not the defined one");
        return ok ? WorkloadProtocol.ExitOk : WorkloadProtocol.ExitUnexpectedOutcome;
#endif
    }

#if PARAVIRT_FULL
    /// <summary>One READ DMA with the table at <paramref name="table"/>; returns the ATA Status after it (the Stop written).</summary>
    private static byte Request(uint table, uint lba, byte count)
    {
        Cpu.OutDword(BmTable, table);
        Cpu.OutByte(AtaRegisters.Device, (byte)(AtaRegisters.DeviceLbaMaster | ((lba >> 24) & 0x0F)));
        Cpu.OutByte(AtaRegisters.SectorCount, count);
        Cpu.OutByte(AtaRegisters.LbaLow, (byte)lba);
        Cpu.OutByte(AtaRegisters.LbaMid, (byte)(lba >> 8));
        Cpu.OutByte(AtaRegisters.LbaHigh, (byte)(lba >> 16));
        Cpu.OutByte(AtaRegisters.Command, AtaCommand.ReadDma);
        Cpu.OutByte(BmCommand, IdeBusMasterRegisters.CommandStart | IdeBusMasterRegisters.CommandToMemory);
        byte status = Cpu.InByte(AtaRegisters.Command);
        Cpu.OutByte(BmCommand, IdeBusMasterRegisters.CommandToMemory);
        return status;
    }

    private static bool Expect(string what, byte status, byte error, bool busMasterError)
    {
        byte actualError = Cpu.InByte(AtaRegisters.Error);
        byte bm = Cpu.InByte(BmStatus);
        Cpu.OutByte(BmStatus, (byte)(bm | IdeBusMasterRegisters.StatusError | IdeBusMasterRegisters.StatusInterrupt));
        bool ok = (status & (AtaStatus.Error | AtaStatus.Busy | AtaStatus.DataRequest)) == AtaStatus.Error
            && actualError == error
            && ((bm & IdeBusMasterRegisters.StatusError) != 0) == busMasterError
            && (!busMasterError || (bm & IdeBusMasterRegisters.StatusActive) == 0);
        Console.Write("hostile-prd: ");
        Console.Write(what);
        Console.Write(": status ");
        Console.WriteHex(status);
        Console.Write(" error ");
        Console.WriteHex(actualError);
        Console.Write(" bus master ");
        Console.WriteHex(bm);
        Console.WriteLine(ok ? " (as defined)" : " (NOT as defined)");
        return ok;
    }
#endif
}
