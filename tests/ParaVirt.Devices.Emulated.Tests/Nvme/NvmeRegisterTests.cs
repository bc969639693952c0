using ParaVirt.Abi.Nvme;
using ParaVirt.Devices.Emulated.Nvme;
using static ParaVirt.Devices.Emulated.Tests.Nvme.NvmeHarness;

namespace ParaVirt.Devices.Emulated.Tests.Nvme;

public sealed class NvmeRegisterTests
{
    private NvmeHarness _h = null!;

    [SetUp]
    public void SetUp() => _h = new NvmeHarness();

    [TearDown]
    public void TearDown() => _h.Dispose();

    [Test]
    public void Capabilities_and_version_describe_the_subset()
    {
        ulong cap = _h.Read64(NvmeRegisters.Cap);
        Assert.That(cap & NvmeRegisters.CapMqesMask, Is.EqualTo(1023));
        Assert.That(cap & NvmeRegisters.CapContiguousQueues, Is.Not.Zero);
        Assert.That((cap >> NvmeRegisters.CapDoorbellStrideShift) & 0xF, Is.Zero);
        Assert.That(cap & NvmeRegisters.CapNvmCommandSet, Is.Not.Zero);
        Assert.That((cap >> 48) & 0xFF, Is.Zero, "MPSMIN = MPSMAX = 0: 4 KiB pages");
        Assert.That(_h.Read32(NvmeRegisters.Cap) | (ulong)_h.Read32(NvmeRegisters.Cap + 4) << 32, Is.EqualTo(cap), "two 32-bit halves");
        Assert.That(_h.Read32(NvmeRegisters.Vs), Is.EqualTo(0x0001_0400));
    }

    [Test]
    public void Enable_sets_ready_and_disable_clears_it()
    {
        Assert.That(_h.Status, Is.Zero);
        _h.Enable();
        Assert.That(_h.Status, Is.EqualTo(NvmeRegisters.CstsReady));
        Assert.That(_h.Controller.IsReady, Is.True);
        _h.Write32(NvmeRegisters.Cc, 0);
        Assert.That(_h.Status, Is.Zero);
    }

    [Test]
    public void Admin_queue_registers_read_back_in_halves_and_whole()
    {
        _h.Write32(NvmeRegisters.Asq, 0x1234_5000);
        _h.Write32(NvmeRegisters.Asq + 4, 0x7);
        Assert.That(_h.Read64(NvmeRegisters.Asq), Is.EqualTo(0x7_1234_5000UL));
        _h.Write64(NvmeRegisters.Acq, 0x8_0000_2000UL);
        Assert.That(_h.Read32(NvmeRegisters.Acq + 4), Is.EqualTo(8));
    }

    [TestCase(1u << NvmeRegisters.CcMpsShift, TestName = "Enable_refuses_8_KiB_pages")]
    [TestCase(1u << NvmeRegisters.CcCssShift, TestName = "Enable_refuses_another_command_set")]
    [TestCase(1u << NvmeRegisters.CcAmsShift, TestName = "Enable_refuses_weighted_arbitration")]
    public void Enable_with_an_unsupported_configuration_sets_fatal_status(uint extra)
    {
        _h.Enable(cc: NvmeRegisters.CcEnableValue | extra);
        Assert.That(_h.Status, Is.EqualTo(NvmeRegisters.CstsFatal));
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.UnsupportedConfiguration));
    }

    [Test]
    public void Enable_requires_the_queue_entry_sizes()
    {
        _h.Enable(cc: NvmeRegisters.CcEnable);
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.UnsupportedConfiguration));
    }

    [TestCase(1u)]
    [TestCase(1025u)]
    public void Enable_refuses_an_admin_queue_size_outside_2_to_MQES(uint entries)
    {
        _h.Enable(adminEntries: entries);
        Assert.That(_h.Status & NvmeRegisters.CstsFatal, Is.Not.Zero);
        Assert.That(_h.Status & NvmeRegisters.CstsReady, Is.Zero);
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.InvalidAdminQueueSize));
    }

    [TestCase(MemorySize, AdminCq, TestName = "Enable_refuses_an_admin_submission_queue_past_the_end_of_memory")]
    [TestCase(AdminSq, MemorySize - 0x100, TestName = "Enable_refuses_an_admin_completion_queue_straddling_the_end_of_memory")]
    [TestCase(AdminSq + 0x40, AdminCq, TestName = "Enable_refuses_a_misaligned_admin_submission_queue")]
    [TestCase(AdminSq, 0xFFFF_FFFF_FFFF_F000UL, TestName = "Enable_refuses_an_admin_completion_queue_that_wraps_the_address_space")]
    public void Enable_refuses_admin_queues_outside_memory(ulong asq, ulong acq)
    {
        _h.Enable(asq: asq, acq: acq);
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.InvalidAdminQueueAddress));
        Assert.That(_h.Status, Is.EqualTo(NvmeRegisters.CstsFatal));
    }

    [Test]
    public void A_reset_clears_fatal_status_and_a_good_enable_follows()
    {
        _h.Enable(adminEntries: 1);
        Assert.That(_h.Status, Is.EqualTo(NvmeRegisters.CstsFatal));
        _h.EnableWithIoQueues();
        Assert.That(_h.Status, Is.EqualTo(NvmeRegisters.CstsReady));
        Assert.That(_h.Controller.FatalError, Is.EqualTo(NvmeFatalError.None));
    }

    [Test]
    public void Shutdown_notification_reports_shutdown_complete_and_doorbells_are_then_ignored()
    {
        _h.EnableWithIoQueues();
        _h.Write32(NvmeRegisters.Cc, NvmeRegisters.CcEnableValue | 1u << NvmeRegisters.CcShnShift);
        Assert.That(_h.Status & (3u << NvmeRegisters.CstsShstShift), Is.EqualTo(NvmeRegisters.CstsShutdownComplete));
        _h.Queue(Io(NvmeIoOpcode.Flush, 1, 0, 1, 0));
        _h.RingIoSq();
        Assert.That(_h.TryTakeIo(out _), Is.False);
    }

    [Test]
    public void Odd_widths_read_zero_write_nothing_and_are_counted()
    {
        _h.Enable();
        Span<byte> two = stackalloc byte[2];
        _h.Bus.Read(Bar + NvmeRegisters.Csts, two);
        Assert.That(two.ToArray(), Is.EqualTo(new byte[2]));
        _h.Bus.Write(Bar + NvmeRegisters.Cc, [0, 0]);      // would disable if taken
        _h.Bus.Write(Bar + NvmeRegisters.Cc + 1, [0, 0, 0, 0]); // misaligned
        _h.Write64(NvmeRegisters.Cc - 4, 0);                 // 8 bytes over a 32-bit register
        Assert.That(_h.Status, Is.EqualTo(NvmeRegisters.CstsReady));
        Assert.That(_h.Controller.StrayAccesses, Is.EqualTo(4));
    }

    [Test]
    public void Read_only_registers_ignore_writes()
    {
        ulong cap = _h.Read64(NvmeRegisters.Cap);
        _h.Write64(NvmeRegisters.Cap, 0);
        _h.Write32(NvmeRegisters.Vs, 0);
        _h.Write32(NvmeRegisters.Csts, NvmeRegisters.CstsReady);
        Assert.That(_h.Read64(NvmeRegisters.Cap), Is.EqualTo(cap));
        Assert.That(_h.Read32(NvmeRegisters.Vs), Is.EqualTo(0x0001_0400));
        Assert.That(_h.Status, Is.Zero);
    }
}
