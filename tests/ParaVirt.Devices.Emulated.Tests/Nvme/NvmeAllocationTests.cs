using System.Buffers.Binary;
using ParaVirt.Abi.Nvme;
using static ParaVirt.Devices.Emulated.Tests.Nvme.NvmeHarness;

namespace ParaVirt.Devices.Emulated.Tests.Nvme;

/// <summary>The controller allocates nothing per doorbell or per command: many batches allocate what a few do.</summary>
public sealed class NvmeAllocationTests
{
    [Test]
    public void Batches_of_reads_writes_and_flushes_allocate_nothing_per_command()
    {
        using var h = new NvmeHarness(diskSectors: 4096);
        h.EnableWithIoQueues(sqEntries: 64, cqEntries: 64);
        // 4 KiB transfers of every PRP shape: one page, two pages at an offset, a PRP list.
        h.Memory.TryWrite(PrpLists, Data + 0x1000);
        h.Memory.TryWrite(PrpLists + 8, Data + 0x2000);
        RunBatches(h, 4); // warm up

        long few = Allocated(() => RunBatches(h, 4));
        long many = Allocated(() => RunBatches(h, 200)); // 196 more batches: 6272 more commands, 392 more doorbells
        TestContext.Out.WriteLine($"{few} B for 4 batches, {many} B for 200");
        Assert.That(many - few, Is.LessThan(1024));
        Assert.That(h.Controller.FatalError, Is.EqualTo(ParaVirt.Devices.Emulated.Nvme.NvmeFatalError.None));
    }

    private static void RunBatches(NvmeHarness h, int batches)
    {
        Span<byte> doorbell = stackalloc byte[4];
        for (int b = 0; b < batches; b++)
        {
            for (int i = 0; i < 32; i++)
            {
                ushort id = (ushort)i;
                ulong lba = (ulong)(i * 8);
                NvmeSubmissionEntry entry = (i % 4) switch
                {
                    0 => Io(NvmeIoOpcode.Write, id, lba, 8, Data),
                    1 => Io(NvmeIoOpcode.Read, id, lba, 8, Data + 0x10204, Data + 0x20000),
                    2 => Io(NvmeIoOpcode.Read, id, lba, 24, Data, PrpLists),
                    _ => Io(NvmeIoOpcode.Flush, id, 0, 1, 0),
                };
                h.Memory.TryWrite(IoSq + h.IoSqTail * 64UL, entry);
                h.IoSqTail = (h.IoSqTail + 1) % h.IoSqSize;
            }
            BinaryPrimitives.WriteUInt32LittleEndian(doorbell, h.IoSqTail);
            h.Bus.Write(Bar + NvmeRegisters.SubmissionTailDoorbell(1), doorbell);
            for (int i = 0; i < 32; i++)
            {
                h.Memory.TryRead(IoCq + h.IoCqHead * 16UL, out NvmeCompletionEntry c);
                if (((c.StatusAndPhase & 1) != 0) != h.IoPhase || c.StatusAndPhase >> 1 != 0)
                    throw new InvalidOperationException($"completion {i} of batch {b}: {c.StatusAndPhase:x}");
                h.IoCqHead = (h.IoCqHead + 1) % h.IoCqSize;
                if (h.IoCqHead == 0)
                    h.IoPhase = !h.IoPhase;
            }
            BinaryPrimitives.WriteUInt32LittleEndian(doorbell, h.IoCqHead);
            h.Bus.Write(Bar + NvmeRegisters.CompletionHeadDoorbell(1), doorbell);
        }
    }

    private static long Allocated(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
