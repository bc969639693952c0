using ParaVirt.Abi.Nvme;
using static ParaVirt.Devices.Emulated.Tests.Nvme.NvmeHarness;

namespace ParaVirt.Devices.Emulated.Tests.Nvme;

public sealed class NvmeIoTests
{
    private NvmeHarness _h = null!;

    [SetUp]
    public void SetUp()
    {
        _h = new NvmeHarness();
        _h.EnableWithIoQueues();
    }

    [TearDown]
    public void TearDown() => _h.Dispose();

    [Test]
    public void A_4_KiB_write_through_prp1_reaches_the_disk_and_reads_back()
    {
        byte[] pattern = _h.Pattern(4096, 1);
        _h.Memory.TryWrite(Data, pattern);
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Write, 1, 8, 8, Data)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.DiskBytes(8, 8), Is.EqualTo(pattern));
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 2, 8, 8, Data + 0x10000)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.GuestBytes(Data + 0x10000, 4096), Is.EqualTo(pattern));
    }

    [Test]
    public void An_8_KiB_transfer_uses_prp2_as_the_second_page()
    {
        byte[] pattern = _h.Pattern(8192, 2);
        _h.Memory.TryWrite(Data, pattern.AsSpan(0, 4096));
        _h.Memory.TryWrite(Data + 0x5000, pattern.AsSpan(4096));
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Write, 1, 0, 16, Data, Data + 0x5000)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.DiskBytes(0, 16), Is.EqualTo(pattern));
    }

    [Test]
    public void A_transfer_starting_inside_a_page_splits_sectors_across_prp_entries()
    {
        // 4 KiB from offset 0x204 (dword aligned): 3580 bytes in the first page, 516 in the second.
        byte[] pattern = _h.Pattern(4096, 3);
        _h.Memory.TryWrite(Data + 0x204, pattern.AsSpan(0, 4096 - 0x204));
        _h.Memory.TryWrite(Data + 0x3000, pattern.AsSpan(4096 - 0x204));
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Write, 1, 16, 8, Data + 0x204, Data + 0x3000)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.DiskBytes(16, 8), Is.EqualTo(pattern));

        _h.Memory.TryFill(Data + 0x8000, 0x2000, 0);
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 2, 16, 8, Data + 0x8204, Data + 0x9000)), Is.EqualTo(NvmeStatus.Success));
        byte[] back = [.. _h.GuestBytes(Data + 0x8204, 4096 - 0x204), .. _h.GuestBytes(Data + 0x9000, 0x204)];
        Assert.That(back, Is.EqualTo(pattern));
    }

    [Test]
    public void A_32_KiB_transfer_walks_a_prp_list_that_continues_on_a_second_list_page()
    {
        // 8 pages: PRP1 the first, PRP2 a list starting 16 bytes before the end of its page:
        // entry 0 is page 2, entry 1 (the last slot) points to the next list page, which holds pages 3-8.
        byte[] pattern = _h.Pattern(8 * 4096, 4);
        ulong[] pages = [Data, Data + 0x3000, Data + 0x9000, Data + 0x5000, Data + 0x6000, Data + 0x20000, Data + 0x1000, Data + 0xF000];
        for (int i = 0; i < 8; i++)
            _h.Memory.TryWrite(pages[i], pattern.AsSpan(i * 4096, 4096));
        ulong list = PrpLists + 0x1000 - 16, next = PrpLists + 0x3000;
        _h.Memory.TryWrite(list, pages[1]);
        _h.Memory.TryWrite(list + 8, next);
        for (int i = 2; i < 8; i++)
            _h.Memory.TryWrite(next + (ulong)(i - 2) * 8, pages[i]);
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Write, 1, 0, 64, pages[0], list)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.DiskBytes(0, 64), Is.EqualTo(pattern));
    }

    [Test]
    public void Flush_completes_successfully() =>
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0)), Is.EqualTo(NvmeStatus.Success));

    [Test]
    public void Thirty_two_requests_complete_in_one_doorbell_exit_and_one_head_doorbell_frees_them()
    {
        long doorbells = _h.Controller.Doorbells;
        for (ushort i = 0; i < 32; i++)
            _h.Queue(Io(NvmeIoOpcode.Write, i, i * 8UL % DiskSectors, 8, Data + i * 4096UL));
        _h.RingIoSq();
        int taken = 0;
        while (_h.TryTakeIo(out NvmeCompletionEntry c))
        {
            Assert.That(StatusOf(c), Is.EqualTo(NvmeStatus.Success));
            Assert.That(c.CommandId, Is.EqualTo(taken));
            Assert.That(c.SubmissionQueueId, Is.EqualTo(1));
            Assert.That(c.SubmissionQueueHead, Is.EqualTo(taken + 1));
            taken++;
        }
        _h.RingIoCq();
        Assert.That(taken, Is.EqualTo(32));
        Assert.That(_h.Controller.Doorbells - doorbells, Is.EqualTo(2));
    }

    [Test]
    public void The_phase_tag_flips_at_each_wrap_of_a_small_completion_queue()
    {
        _h.Dispose();
        _h = new NvmeHarness();
        _h.EnableWithIoQueues(sqEntries: 3, cqEntries: 2);
        for (ushort i = 0; i < 10; i++)
            Assert.That(_h.RunIo(Io(NvmeIoOpcode.Flush, i, 0, 1, 0)), Is.EqualTo(NvmeStatus.Success), $"command {i}");
        Assert.That(_h.IoPhase, Is.False, "10 completions through a 2-entry queue: five wraps, the tag is 0 again");
    }

    [Test]
    public void Completions_raise_the_interrupt_once_per_exit_unless_masked()
    {
        _h.Dispose();
        _h = new NvmeHarness();
        int raised = 0;
        _h.Controller.InterruptRequested = () => raised++;
        _h.EnableWithIoQueues(interrupts: true);
        raised = 0;
        for (ushort i = 0; i < 4; i++)
            _h.Queue(Io(NvmeIoOpcode.Flush, i, 0, 1, 0));
        _h.RingIoSq();
        Assert.That(raised, Is.EqualTo(1));

        _h.Write32(NvmeRegisters.Intms, 1);
        _h.Queue(Io(NvmeIoOpcode.Flush, 10, 0, 1, 0));
        _h.RingIoSq();
        Assert.That(raised, Is.EqualTo(1), "masked");
        _h.Write32(NvmeRegisters.Intmc, 1);
        Assert.That(raised, Is.EqualTo(2), "unmasking with completions unconsumed raises it");
    }

    [Test]
    public void A_polled_completion_queue_raises_no_interrupt()
    {
        int raised = 0;
        _h.Controller.InterruptRequested = () => raised++;
        _h.RunIo(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0));
        Assert.That(raised, Is.Zero);
    }
}
