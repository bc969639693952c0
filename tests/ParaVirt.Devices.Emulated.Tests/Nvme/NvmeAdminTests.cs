using System.Buffers.Binary;
using System.Text;
using ParaVirt.Abi.Nvme;
using static ParaVirt.Devices.Emulated.Tests.Nvme.NvmeHarness;

namespace ParaVirt.Devices.Emulated.Tests.Nvme;

public sealed class NvmeAdminTests
{
    private NvmeHarness _h = null!;

    [SetUp]
    public void SetUp()
    {
        _h = new NvmeHarness();
        _h.Enable();
    }

    [TearDown]
    public void TearDown() => _h.Dispose();

    private static NvmeSubmissionEntry Identify(byte cns, ulong prp1, ulong prp2 = 0, uint nsid = 0) =>
        new() { Opcode = NvmeAdminOpcode.Identify, NamespaceId = nsid, Prp1 = prp1, Prp2 = prp2, Cdw10 = cns };

    [Test]
    public void Identify_controller_reports_one_namespace_the_transfer_limit_and_entry_sizes()
    {
        Assert.That(_h.AdminStatus(Identify(NvmeAdminOpcode.IdentifyController, Data)), Is.EqualTo(NvmeStatus.Success));
        byte[] page = _h.GuestBytes(Data, 4096);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(NvmeIdentifyLayout.ControllerNamespaceCount)), Is.EqualTo(1));
        Assert.That(page[NvmeIdentifyLayout.ControllerMaxTransfer], Is.EqualTo(5));
        Assert.That(page[NvmeIdentifyLayout.ControllerSqEntrySizes], Is.EqualTo(0x66));
        Assert.That(page[NvmeIdentifyLayout.ControllerCqEntrySizes], Is.EqualTo(0x44));
        Assert.That(Encoding.ASCII.GetString(page, NvmeIdentifyLayout.ControllerModel, 40).TrimEnd(), Is.EqualTo("PARAVIRT NVME DISK"));
    }

    [Test]
    public void Identify_namespace_reports_the_disk_size_in_512_byte_blocks()
    {
        Assert.That(_h.AdminStatus(Identify(NvmeAdminOpcode.IdentifyNamespace, Data, nsid: 1)), Is.EqualTo(NvmeStatus.Success));
        byte[] page = _h.GuestBytes(Data, 4096);
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(NvmeIdentifyLayout.NamespaceSize)), Is.EqualTo(DiskSectors));
        Assert.That((BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(NvmeIdentifyLayout.NamespaceLbaFormat0)) >> 16) & 0xFF, Is.EqualTo(9));
    }

    [Test]
    public void Identify_data_at_an_offset_spans_two_pages_through_prp2()
    {
        _h.Memory.TryFill(Data + 0x2000, 0x1000, 0xFF);
        Assert.That(_h.AdminStatus(Identify(NvmeAdminOpcode.IdentifyNamespace, Data + 0x800, Data + 0x2000, nsid: 1)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(_h.GuestBytes(Data + 0x800, 8)), Is.EqualTo(DiskSectors));
        Assert.That(_h.GuestBytes(Data + 0x2000, 0x800), Is.EqualTo(new byte[0x800]), "the second half (zeros beyond the LBA formats) went to PRP2");
        Assert.That(_h.GuestBytes(Data + 0x2800, 0x800), Is.All.EqualTo(0xFF), "and no further");
    }

    [TestCase(0u)]
    [TestCase(2u)]
    [TestCase(0xFFFF_FFFFu)]
    public void Identify_of_a_namespace_that_does_not_exist_is_refused(uint nsid) =>
        Assert.That(_h.AdminStatus(Identify(NvmeAdminOpcode.IdentifyNamespace, Data, nsid: nsid)), Is.EqualTo(NvmeStatus.InvalidNamespace));

    [Test]
    public void Identify_with_an_unknown_cns_is_an_invalid_field() =>
        Assert.That(_h.AdminStatus(Identify(0x55, Data)), Is.EqualTo(NvmeStatus.InvalidField));

    [Test]
    public void Identify_into_memory_outside_the_guest_is_a_data_transfer_error() =>
        Assert.That(_h.AdminStatus(Identify(NvmeAdminOpcode.IdentifyController, MemorySize - 0x1000 + 0x800, MemorySize)), Is.EqualTo(NvmeStatus.DataTransferError));

    [Test]
    public void Number_of_queues_reports_four_pairs()
    {
        NvmeCompletionEntry c = _h.Admin(new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.SetFeatures, Cdw10 = NvmeAdminOpcode.FeatureNumberOfQueues, Cdw11 = 0x003F_003F });
        Assert.That(StatusOf(c), Is.EqualTo(NvmeStatus.Success));
        Assert.That(c.Result, Is.EqualTo(0x0003_0003));
        c = _h.Admin(new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.GetFeatures, Cdw10 = NvmeAdminOpcode.FeatureNumberOfQueues });
        Assert.That(c.Result, Is.EqualTo(0x0003_0003));
        Assert.That(_h.AdminStatus(new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.SetFeatures, Cdw10 = NvmeAdminOpcode.FeatureNumberOfQueues, Cdw11 = 0xFFFF }), Is.EqualTo(NvmeStatus.InvalidField));
        Assert.That(_h.AdminStatus(new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.GetFeatures, Cdw10 = 0x7F }), Is.EqualTo(NvmeStatus.InvalidField));
    }

    [TestCase((byte)0x08)] // Abort: not implemented
    [TestCase((byte)0x0C)] // Asynchronous Event Request: not implemented
    [TestCase((byte)0xC0)] // vendor specific
    public void Unknown_admin_opcodes_complete_with_invalid_opcode(byte opcode) =>
        Assert.That(_h.AdminStatus(new NvmeSubmissionEntry { Opcode = opcode }), Is.EqualTo(NvmeStatus.InvalidOpcode));

    [Test]
    public void Fused_or_sgl_commands_are_refused() =>
        Assert.That(_h.AdminStatus(new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.Identify, Flags = 0x40, Prp1 = Data, Cdw10 = 1 }), Is.EqualTo(NvmeStatus.InvalidField));

    [TestCase((ushort)0)]
    [TestCase((ushort)5)]
    [TestCase((ushort)0xFFFF)]
    public void Creating_a_queue_with_an_id_outside_1_to_4_is_refused(ushort id)
    {
        Assert.That(_h.AdminStatus(CreateCq(id, 16, IoCq)), Is.EqualTo(NvmeStatus.InvalidQueueIdentifier));
        Assert.That(_h.AdminStatus(CreateSq(id, 16, IoSq, 1)), Is.EqualTo(NvmeStatus.InvalidQueueIdentifier));
    }

    [Test]
    public void Creating_a_queue_twice_is_refused()
    {
        Assert.That(_h.AdminStatus(CreateCq(1, 16, IoCq)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.AdminStatus(CreateCq(1, 16, IoCq)), Is.EqualTo(NvmeStatus.InvalidQueueIdentifier));
    }

    [TestCase(1u)]
    [TestCase(1025u)]
    [TestCase(65536u)]
    public void A_queue_size_outside_2_to_MQES_is_refused(uint entries)
    {
        Assert.That(_h.AdminStatus(CreateCq(1, entries, IoCq)), Is.EqualTo(NvmeStatus.InvalidQueueSize));
        Assert.That(_h.AdminStatus(CreateCq(1, 16, IoCq)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.AdminStatus(CreateSq(1, entries, IoSq, 1)), Is.EqualTo(NvmeStatus.InvalidQueueSize));
    }

    [Test]
    public void A_queue_base_outside_memory_or_misaligned_is_refused()
    {
        Assert.That(_h.AdminStatus(CreateCq(1, 1024, MemorySize - 0x1000)), Is.EqualTo(NvmeStatus.InvalidField), "16 KiB ring from the last page");
        Assert.That(_h.AdminStatus(CreateCq(1, 16, 0xFFFF_FFFF_FFFF_F000)), Is.EqualTo(NvmeStatus.InvalidField), "a ring that wraps");
        Assert.That(_h.AdminStatus(CreateCq(1, 16, IoCq + 0x100)), Is.EqualTo(NvmeStatus.PrpOffsetInvalid));
        Assert.That(_h.AdminStatus(CreateCq(1, 16, IoCq)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.AdminStatus(CreateSq(1, 1024, MemorySize - 0x8000, 1)), Is.EqualTo(NvmeStatus.InvalidField));
    }

    [Test]
    public void Non_contiguous_queues_are_refused()
    {
        NvmeSubmissionEntry create = CreateCq(1, 16, IoCq);
        create.Cdw11 &= ~1u;
        Assert.That(_h.AdminStatus(create), Is.EqualTo(NvmeStatus.InvalidField));
    }

    [Test]
    public void An_interrupt_vector_other_than_0_is_refused() =>
        Assert.That(_h.AdminStatus(CreateCq(1, 16, IoCq, interrupts: true, vector: 1)), Is.EqualTo(NvmeStatus.InvalidInterruptVector));

    [Test]
    public void A_submission_queue_needs_an_existing_completion_queue()
    {
        Assert.That(_h.AdminStatus(CreateSq(1, 16, IoSq, 1)), Is.EqualTo(NvmeStatus.CompletionQueueInvalid));
        Assert.That(_h.AdminStatus(CreateSq(1, 16, IoSq, 0)), Is.EqualTo(NvmeStatus.CompletionQueueInvalid), "not the admin completion queue");
    }

    [Test]
    public void A_completion_queue_in_use_cannot_be_deleted_until_its_submission_queue_is()
    {
        Assert.That(_h.AdminStatus(CreateCq(1, 16, IoCq)), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.AdminStatus(CreateSq(1, 16, IoSq, 1)), Is.EqualTo(NvmeStatus.Success));
        var deleteCq = new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.DeleteIoCompletionQueue, Cdw10 = 1 };
        var deleteSq = new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.DeleteIoSubmissionQueue, Cdw10 = 1 };
        Assert.That(_h.AdminStatus(deleteCq), Is.EqualTo(NvmeStatus.InvalidQueueDeletion));
        Assert.That(_h.AdminStatus(deleteSq), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.AdminStatus(deleteSq), Is.EqualTo(NvmeStatus.InvalidQueueIdentifier));
        Assert.That(_h.AdminStatus(deleteCq), Is.EqualTo(NvmeStatus.Success));
        Assert.That(_h.AdminStatus(new NvmeSubmissionEntry { Opcode = NvmeAdminOpcode.DeleteIoCompletionQueue, Cdw10 = 0 }), Is.EqualTo(NvmeStatus.InvalidQueueIdentifier));
    }
}
