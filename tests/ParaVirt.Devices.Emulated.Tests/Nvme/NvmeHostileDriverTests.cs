using ParaVirt.Abi.Nvme;
using ParaVirt.Devices.Emulated.Nvme;
using static ParaVirt.Devices.Emulated.Tests.Nvme.NvmeHarness;

namespace ParaVirt.Devices.Emulated.Tests.Nvme;

/// <summary>A driver that breaks the rules: every case ends in a defined completion status or a fatal controller status, never an exception or an access outside guest memory.</summary>
public sealed class NvmeHostileDriverTests
{
    private NvmeHarness _h = null!;

    [SetUp]
    public void SetUp()
    {
        _h = new NvmeHarness();
        _h.EnableWithIoQueues(sqEntries: 16, cqEntries: 16);
    }

    [TearDown]
    public void TearDown() => _h.Dispose();

    [TestCase(16u)]
    [TestCase(17u)]
    [TestCase(0xFFFF_FFFFu)]
    public void A_submission_tail_at_or_past_the_queue_size_is_fatal_and_runs_nothing(uint tail)
    {
        _h.Queue(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0));
        long commands = _h.Controller.Commands;
        _h.Write32(NvmeRegisters.SubmissionTailDoorbell(1), tail);
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.SubmissionTailOutOfRange));
        Assert.That(_h.Status & NvmeRegisters.CstsFatal, Is.Not.Zero);
        Assert.That(_h.Controller.Commands, Is.EqualTo(commands));
    }

    [Test]
    public void A_failed_controller_ignores_doorbells_until_it_is_reset()
    {
        _h.Write32(NvmeRegisters.SubmissionTailDoorbell(1), 99);
        _h.Queue(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0));
        _h.RingIoSq();
        Assert.That(_h.TryTakeIo(out _), Is.False);
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.SubmissionTailOutOfRange), "the first reason stays");

        _h.EnableWithIoQueues();
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0)), Is.EqualTo(NvmeStatus.Success));
    }

    [TestCase(16u)]
    [TestCase(0x8000_0000u)]
    public void A_completion_head_at_or_past_the_queue_size_is_fatal(uint head)
    {
        _h.Write32(NvmeRegisters.CompletionHeadDoorbell(1), head);
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.CompletionHeadOutOfRange));
    }

    [Test]
    public void A_completion_head_past_the_entries_posted_is_fatal()
    {
        // Phase confusion: the driver claims to have consumed 3 completions when 2 were posted.
        _h.Queue(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0));
        _h.Queue(Io(NvmeIoOpcode.Flush, 2, 0, 1, 0));
        _h.RingIoSq();
        _h.Write32(NvmeRegisters.CompletionHeadDoorbell(1), 3);
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.CompletionHeadOutOfRange));
    }

    [Test]
    public void A_completion_head_that_consumes_exactly_what_was_posted_is_accepted()
    {
        _h.Queue(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0));
        _h.Queue(Io(NvmeIoOpcode.Flush, 2, 0, 1, 0));
        _h.RingIoSq();
        _h.Write32(NvmeRegisters.CompletionHeadDoorbell(1), 2);
        _h.Write32(NvmeRegisters.CompletionHeadDoorbell(1), 2); // the same value again: nothing new consumed
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.None));
    }

    [TestCase(2u, false)]   // SQ 2 was never created
    [TestCase(2u, true)]    // CQ 2 was never created
    [TestCase(5u, false)]   // past the queues the controller has
    [TestCase(1000u, true)] // far into the doorbell window
    public void A_doorbell_of_a_queue_that_does_not_exist_is_fatal(uint id, bool completion)
    {
        _h.Write32(completion ? NvmeRegisters.CompletionHeadDoorbell(id) : NvmeRegisters.SubmissionTailDoorbell(id), 0);
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.InvalidDoorbell));
    }

    [Test]
    public void A_full_completion_queue_is_never_overwritten_and_waiting_commands_run_once_there_is_room()
    {
        _h.Dispose();
        _h = new NvmeHarness();
        _h.EnableWithIoQueues(sqEntries: 16, cqEntries: 4);
        // A driver that never consumes completions: 8 commands, room for 3 completions.
        for (ushort i = 0; i < 8; i++)
            _h.Queue(Io(NvmeIoOpcode.Flush, i, 0, 1, 0));
        _h.RingIoSq();
        _h.RingIoSq();
        for (uint slot = 0; slot < 3; slot++)
        {
            NvmeCompletionEntry c = _h.CompletionAt(IoCq, slot);
            Assert.That(PhaseOf(c), Is.True);
            Assert.That(c.CommandId, Is.EqualTo(slot), "the first completions are intact");
        }
        Assert.That(_h.CompletionAt(IoCq, 3).StatusAndPhase, Is.Zero, "the slot that would make the queue look empty is not written");
        Assert.That(_h.Controller.Commands, Is.EqualTo(2 + 3), "2 admin commands, 3 I/O commands fetched; 5 wait in the submission queue");

        // Consuming completions lets the waiting commands run, 3 at a time.
        int taken = 0;
        while (taken < 8)
        {
            int before = taken;
            while (_h.TryTakeIo(out NvmeCompletionEntry c))
            {
                Assert.That(c.CommandId, Is.EqualTo(taken));
                taken++;
            }
            Assert.That(taken, Is.GreaterThan(before));
            _h.RingIoCq();
        }
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.None));
    }

    [Test]
    public void A_command_id_still_in_use_completes_with_a_conflict_and_does_not_run()
    {
        byte[] pattern = _h.Pattern(512, 9);
        _h.Memory.TryWrite(Data, pattern);
        _h.Queue(Io(NvmeIoOpcode.Flush, 7, 0, 1, 0));
        _h.Queue(Io(NvmeIoOpcode.Write, 7, 5, 1, Data)); // the same ID, the first completion not yet consumed
        _h.RingIoSq();
        Assert.That(_h.TryTakeIo(out NvmeCompletionEntry first), Is.True);
        Assert.That(_h.TryTakeIo(out NvmeCompletionEntry second), Is.True);
        Assert.That(StatusOf(first), Is.EqualTo(NvmeStatus.Success));
        Assert.That(StatusOf(second), Is.EqualTo(NvmeStatus.CommandIdConflict));
        Assert.That(_h.DiskBytes(5, 1), Is.EqualTo(new byte[512]), "the conflicting write did not run");

        // Once the driver has consumed the completions, the ID is free again.
        _h.RingIoCq();
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Write, 7, 5, 1, Data)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.DiskBytes(5, 1), Is.EqualTo(pattern));
    }

    [Test]
    public void The_same_command_id_in_another_queue_is_no_conflict()
    {
        Assert.That(_h.AdminStatus(CreateCq(2, 16, IoCq + 0x1000)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.AdminStatus(CreateSq(2, 16, IoSq + 0x1000, 2)), Is.EqualTo(NvmeStatus.Success));
        _h.Queue(Io(NvmeIoOpcode.Flush, 7, 0, 1, 0));
        _h.RingIoSq();
        _h.Put(IoSq + 0x1000, 0, Io(NvmeIoOpcode.Flush, 7, 0, 1, 0));
        _h.Write32(NvmeRegisters.SubmissionTailDoorbell(2), 1);
        Assert.That(StatusOf(_h.CompletionAt(IoCq + 0x1000, 0)), Is.EqualTo(NvmeStatus.Success));
    }

    [Test]
    public void Deleting_a_queue_forgets_its_command_ids()
    {
        _h.Queue(Io(NvmeIoOpcode.Flush, 7, 0, 1, 0));
        _h.RingIoSq(); // completion posted, never consumed
        Assert.That(_h.AdminStatus(new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.DeleteIoSubmissionQueue, Cdw10 = 1 }), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.AdminStatus(CreateSq(1, 16, IoSq, 1)), Is.EqualTo(NvmeStatus.Success));
        _h.IoSqTail = 0;
        _h.Queue(Io(NvmeIoOpcode.Flush, 7, 0, 1, 0));
        _h.RingIoSq();
        Assert.That(StatusOf(_h.CompletionAt(IoCq, 1)), Is.EqualTo(NvmeStatus.Success));
    }

    [TestCase(DiskSectors, 1u, TestName = "A_read_starting_at_the_end_of_the_disk_is_out_of_range")]
    [TestCase(DiskSectors - 1, 2u, TestName = "A_read_reaching_past_the_end_of_the_disk_is_out_of_range")]
    [TestCase(ulong.MaxValue, 2u, TestName = "A_read_whose_range_wraps_2_to_the_64_is_out_of_range")]
    public void Lba_ranges_past_the_end_of_the_disk_are_refused(ulong lba, uint blocks)
    {
        _h.Memory.TryFill(Data, 4096, 0xAA);
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 1, lba, blocks, Data)), Is.EqualTo(NvmeStatus.LbaOutOfRange));
        Assert.That(_h.GuestBytes(Data, 4096), Is.All.EqualTo(0xAA));
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Write, 2, lba, blocks, Data)), Is.EqualTo(NvmeStatus.LbaOutOfRange));
    }

    [Test]
    public void The_last_block_of_the_disk_is_in_range() =>
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 1, DiskSectors - 1, 1, Data)), Is.EqualTo(NvmeStatus.Success));

    [Test]
    public void A_transfer_above_mdts_is_an_invalid_field() =>
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 1, 0, 257, Data, PrpLists)), Is.EqualTo(NvmeStatus.InvalidField));

    [TestCase((byte)0x03)] // reserved
    [TestCase((byte)0x08)] // Write Zeroes: not implemented
    [TestCase((byte)0x09)] // Dataset Management: not implemented
    [TestCase((byte)0xFF)]
    public void Unknown_io_opcodes_complete_with_invalid_opcode(byte opcode) =>
        Assert.That(_h.RunIo(Io(opcode, 1, 0, 1, Data)), Is.EqualTo(NvmeStatus.InvalidOpcode));

    [TestCase(0u)]
    [TestCase(2u)]
    public void Io_to_a_namespace_that_does_not_exist_is_refused(uint nsid) =>
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 1, 0, 1, Data, nsid: nsid)), Is.EqualTo(NvmeStatus.InvalidNamespace));

    [TestCase(Data + 1, 0UL, TestName = "Prp1_not_dword_aligned_is_a_prp_offset_error")]
    [TestCase(Data, Data + 0x1800, TestName = "Prp2_with_an_offset_for_a_two_page_transfer_is_a_prp_offset_error")]
    public void Misaligned_prps_are_refused(ulong prp1, ulong prp2) =>
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 1, 0, 16, prp1, prp2)), Is.EqualTo(NvmeStatus.PrpOffsetInvalid));

    [Test]
    public void A_prp_list_pointer_or_entry_with_a_forbidden_offset_is_refused()
    {
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 1, 0, 24, Data, PrpLists + 4)), Is.EqualTo(NvmeStatus.PrpOffsetInvalid), "list pointer not qword aligned");
        _h.Memory.TryWrite(PrpLists, Data + 0x1000);
        _h.Memory.TryWrite(PrpLists + 8, Data + 0x2010);
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 2, 0, 24, Data, PrpLists)), Is.EqualTo(NvmeStatus.PrpOffsetInvalid), "list entry not page aligned");
    }

    [Test]
    public void Prps_outside_guest_memory_are_a_data_transfer_error()
    {
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 1, 0, 8, MemorySize)), Is.EqualTo(NvmeStatus.DataTransferError), "PRP1 past the end");
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 2, 0, 16, Data, 0xFFFF_FFFF_FFFF_F000)), Is.EqualTo(NvmeStatus.DataTransferError), "PRP2 at the top of the address space");
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 3, 0, 24, Data, MemorySize)), Is.EqualTo(NvmeStatus.DataTransferError), "a list pointer past the end of memory");
        _h.Memory.TryWrite(PrpLists, Data + 0x1000);
        _h.Memory.TryWrite(PrpLists + 8, 0x7FFF_F000UL);
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 4, 0, 24, Data, PrpLists)), Is.EqualTo(NvmeStatus.DataTransferError), "a list entry outside memory");
    }

    [Test]
    public void A_prp_list_whose_last_slot_points_back_at_itself_is_walked_a_bounded_number_of_times()
    {
        // A one-page list whose last slot points back at the list page, for a 128 KiB (MDTS) read:
        // the walk runs out of pages to describe after a bounded number of entries.
        _h.Dispose();
        _h = new NvmeHarness(diskSectors: 1024);
        _h.EnableWithIoQueues();
        ulong list = PrpLists;
        for (int i = 0; i < 511; i++)
            _h.Memory.TryWrite(list + (ulong)i * 8, Data);
        _h.Memory.TryWrite(list + 511 * 8, list);
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 1, 0, 256, Data, list)), Is.EqualTo(NvmeStatus.Success));

        // The same with the list starting at its last slot: it is followed once per page, each time to itself.
        Assert.That(_h.RunIo(Io(NvmeIoOpcode.Read, 2, 0, 256, Data, list + 511 * 8)), Is.EqualTo(NvmeStatus.Success));
    }

    [Test]
    public void A_write_to_a_read_only_disk_is_refused()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"paravirt-nvme-ro-{Guid.NewGuid():N}.img");
        try
        {
            System.IO.File.WriteAllBytes(path, new byte[64 * 512]);
            using var image = ParaVirt.Core.Storage.DiskImage.Open(path, readOnly: true);
            var nvme = new NvmeController(_h.Memory, image);
            _h.Bus.Register(0xC000_0000, NvmeRegisters.BarSize, nvme);
            // Drive it through its own bus range with a minimal admin + I/O setup.
            var ro = new RoDriver(_h, unchecked(0xC000_0000 - NvmeRegisters.BarBase));
            Assert.That(ro.WriteOneBlock(), Is.EqualTo(NvmeStatus.WriteProtected));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [Test]
    public void Memory_closed_under_the_controller_is_fatal_not_an_exception()
    {
        _h.Queue(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0));
        _h.Memory.Dispose();
        Assert.DoesNotThrow(() => _h.RingIoSq());
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.MemoryClosed));
    }

    [Test]
    public void Work_past_the_command_budget_waits_for_the_next_doorbell()
    {
        _h.Dispose();
        _h = new NvmeHarness();
        _h.EnableWithIoQueues(sqEntries: 1024, cqEntries: 1024);
        for (int i = 0; i < 300; i++)
            _h.Queue(Io(NvmeIoOpcode.Read, (ushort)i, 0, 1, Data));
        _h.RingIoSq();
        Assert.That(CountCompletions(), Is.EqualTo(NvmeController.MaxCommandsPerExit));
        Assert.That(_h.Controller.DeferredExits, Is.EqualTo(1));
        _h.RingIoSq(); // the same tail again: the driver saw fewer completions than it submitted
        Assert.That(CountCompletions(), Is.EqualTo(300 - NvmeController.MaxCommandsPerExit));
    }

    [Test]
    public void Work_past_the_byte_budget_waits_for_the_next_doorbell()
    {
        _h.Dispose();
        _h = new NvmeHarness(diskSectors: 64 * 256);
        _h.EnableWithIoQueues(sqEntries: 128, cqEntries: 128);
        // 64 reads of 128 KiB (8 MiB): one exit moves 4 MiB, 32 reads.
        for (int i = 0; i < 32; i++)
            _h.Memory.TryWrite(PrpLists + (ulong)i * 8, Data + (ulong)(i + 1) * 4096);
        for (int i = 0; i < 64; i++)
            _h.Queue(Io(NvmeIoOpcode.Read, (ushort)i, (ulong)i * 256, 256, Data, PrpLists));
        _h.RingIoSq();
        Assert.That(CountCompletions(), Is.EqualTo(32));
        _h.RingIoCq();
        Assert.That(CountCompletions(), Is.EqualTo(32), "a head doorbell continues the deferred work too");
    }

    [Test]
    public void A_stopping_vm_stops_the_controller_between_commands()
    {
        bool stopping = true;
        _h.Controller.StopRequested = () => stopping;
        _h.Queue(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0));
        _h.RingIoSq();
        Assert.That(_h.TryTakeIo(out _), Is.False);
        stopping = false;
        _h.RingIoSq();
        Assert.That(_h.TryTakeIo(out _), Is.True);
    }

    private int CountCompletions()
    {
        int n = 0;
        while (_h.TryTakeIo(out NvmeCompletionEntry c))
        {
            Assert.That(StatusOf(c), Is.EqualTo(NvmeStatus.Success));
            n++;
        }
        return n;
    }

    /// <summary>A second controller at another base, driven just far enough to issue one write.</summary>
    private sealed class RoDriver(NvmeHarness h, ulong delta)
    {
        public ushort WriteOneBlock()
        {
            const ulong asq = 0x50000, acq = 0x51000, sq = 0x52000, cq = 0x53000;
            h.Memory.TryFill(asq, 0x4000, 0);
            W(NvmeRegisters.Aqa, 0x000F_000F);
            W64(NvmeRegisters.Asq, asq);
            W64(NvmeRegisters.Acq, acq);
            W(NvmeRegisters.Cc, NvmeRegisters.CcEnableValue);
            NvmeSubmissionEntry createCq = CreateCq(1, 16, cq), createSq = CreateSq(1, 16, sq, 1);
            createSq.CommandId = 1;
            h.Put(asq, 0, createCq);
            h.Put(asq, 1, createSq);
            W(NvmeRegisters.SubmissionTailDoorbell(0), 2);
            h.Put(sq, 0, Io(NvmeIoOpcode.Write, 1, 0, 1, Data));
            W(NvmeRegisters.SubmissionTailDoorbell(1), 1);
            return StatusOf(h.CompletionAt(cq, 0));
        }

        private void W(ulong offset, uint value) => h.Write32(offset + delta, value);

        private void W64(ulong offset, ulong value) => h.Write64(offset + delta, value);
    }
}
