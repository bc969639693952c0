using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Cpu.Tests;

/// <summary>
/// The CPU workloads of the C# workloads guest (both images), run by the workload runner: exits per
/// operation inside the measured window, exact where the design makes them exact.
/// </summary>
public class WorkloadExitTests : KvmWorkloadFixture
{
    [Test]
    public void IrqMaskIsTwoExitsPerOpInFullModeAndNoneInParaMode()
    {
        Assert.That(RunVerified(CpuWorkloadCatalog.IrqMask, VirtualizationMode.Full, 500).Exits, Is.EqualTo(2 * 500));
        Assert.That(RunVerified(CpuWorkloadCatalog.IrqMask, VirtualizationMode.Para, 500).Exits, Is.Zero);
    }

    [Test]
    public void ClockReadIsThreePortAccessesInFullModeAndNoExitInParaMode()
    {
        Assert.That(RunVerified(CpuWorkloadCatalog.ClockRead, VirtualizationMode.Full, 500).Exits, Is.EqualTo(3 * 500));
        Assert.That(RunVerified(CpuWorkloadCatalog.ClockRead, VirtualizationMode.Para, 500).Exits, Is.Zero);
    }

    [Test]
    public void TimerSleepIsAtLeastFourExitsInFullModeAndAtMostTwoInParaMode()
    {
        WorkloadResult full = RunVerified(CpuWorkloadCatalog.TimerSleep, VirtualizationMode.Full, 100);
        // cli, 3 PIT writes, sti, hlt (the interrupt is delivered there), the handler's sti;iretq, cli.
        Assert.That(full.Exits - full.ExitsByReason.GetValueOrDefault("Interrupted"), Is.EqualTo(8 * 100));
        Assert.That(full.ExitsPerOperation, Is.GreaterThanOrEqualTo(4));
        WorkloadResult para = RunVerified(CpuWorkloadCatalog.TimerSleep, VirtualizationMode.Para, 100);
        Assert.That(para.Exits, Is.LessThanOrEqualTo(2 * 100), "set_timer + block per sleep at most");
        Assert.That(para.ExitsByReason.GetValueOrDefault("Interrupted"), Is.Zero, "a sleeper keeps events masked: no deadline kicks");
    }

    [Test]
    public void MulticallIsThirtyTwoExitsInFullModeAndOneInParaMode()
    {
        Assert.That(RunVerified(CpuWorkloadCatalog.Multicall, VirtualizationMode.Full, 50).Exits, Is.EqualTo(32 * 50));
        Assert.That(RunVerified(CpuWorkloadCatalog.Multicall, VirtualizationMode.Para, 50).Exits, Is.EqualTo(50));
    }

    private static ParaVirt.Core.Engine.PlatformBehaviour Host => new ParaVirt.Kvm.KvmHypervisor().Behaviour;

    [Test]
    public void CpuidIsOneTrapPerOpInFullModeWhereItTraps()
    {
        if (!Host.CpuidTraps)
            Assert.Ignore($"runs where a CPL3 cpuid traps; on this {Host.CpuVendor} host the probe found it does not (see CpuidIsReportedNotVirtualizableInFullModeWhereItCannotTrap)");
        WorkloadResult full = RunVerified(CpuWorkloadCatalog.Cpuid, VirtualizationMode.Full, 100);
        Assert.That(full.HostLimitation, Is.Null);
        Assert.That(full.ExitCode, Is.Zero, "the guest read ParaVirtHV every time");
        Assert.That(full.Exits, Is.EqualTo(100));
        Assert.That(full.ExitsByReason["Trap"], Is.EqualTo(100));
    }

    [Test]
    public void CpuidIsReportedNotVirtualizableInFullModeWhereItCannotTrap()
    {
        if (Host.CpuidTraps)
            Assert.Ignore($"runs where a CPL3 cpuid cannot trap (seen on AMD EPYC under kvm_pvm); on this {Host.CpuVendor} host it traps (see CpuidIsOneTrapPerOpInFullModeWhereItTraps)");
        WorkloadResult full = RunVerified(CpuWorkloadCatalog.Cpuid, VirtualizationMode.Full, 100);
        Assert.That(full.HostLimitation, Does.Contain("cpuid does not trap").And.Contain(Host.NativeCpuidSignature));
        Assert.That(full.ExitCode, Is.EqualTo(WorkloadProtocol.ExitNotVirtualized), "the guest saw the outer hypervisor, as the probe predicted");
        Assert.That(full.Exits, Is.Zero, "nothing to trap");
    }

    [Test]
    public void CpuidInParaModeNeverExitsAndReadsWhatTheProbeSaw()
    {
        WorkloadResult para = RunVerified(CpuWorkloadCatalog.Cpuid, VirtualizationMode.Para, 100);
        Assert.That(para.Exits, Is.Zero);
        if (Host.CpuidTableAnswers)
        {
            Assert.That(para.HostLimitation, Is.Null);
            Assert.That(para.ExitCode, Is.Zero, "KVM's table answers ParaVirtHV");
        }
        else
        {
            Assert.That(para.HostLimitation, Does.Contain("outer hypervisor"));
            Assert.That(para.ExitCode, Is.EqualTo(WorkloadProtocol.ExitNotVirtualized));
        }
    }
}
