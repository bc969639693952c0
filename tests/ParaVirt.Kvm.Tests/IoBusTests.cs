using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm.Platform;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

public class IoBusTests : KvmFixture
{
    private static VmOptions WithPorts(params ushort[] ports) => new() { MemorySize = 4UL << 20, OpenPorts = ports };

    [Test]
    public void PortIoReachesTheDeviceWithTheRightSizeAndData()
    {
        var device = new RecordingDevice();
        using var vm = CreateVm(a =>
        {
            a.mov(dx, 0x3F8);
            a.mov(al, 0xAB);
            a.@out(dx, al);
            a.mov(dx, 0x3FA);
            a.mov(ax, 0xBEEF);
            a.@out(dx, ax);
            a.mov(dx, 0x3F8);
            a.mov(eax, 0xDEADBEEF);
            a.@out(dx, eax);
            a.mov(dx, 0x3FC);
            a.@in(ax, dx);             // device answers 0x2211
            a.movzx(eax, ax);
            a.ret();
        }, WithPorts(0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD));
        vm.PortBus.Register(0x3F8, 8, device);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(0x2211));
        Assert.That(device.Accesses, Is.EqualTo(new[]
        {
            (true, 0UL, 1, 0xABUL),
            (true, 2UL, 2, 0xBEEFUL),
            (true, 0UL, 4, 0xDEADBEEFUL),
            (false, 4UL, 2, 0UL),
        }));
        Assert.That(vm.Exits[ExitReason.PortIo], Is.EqualTo(4));
    }

    [Test]
    public void AnUnclaimedPortReadsAllOnesAndIsCounted()
    {
        using var vm = CreateVm(a =>
        {
            a.mov(dx, 0x80);
            a.@out(dx, al);
            a.@in(al, dx);
            a.movzx(eax, al);
            a.ret();
        }, WithPorts(0x80));
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.ExitCode, Is.EqualTo(0xFF), stop.Message);
        Assert.That(vm.PortBus.UnclaimedReads, Is.EqualTo(1));
        Assert.That(vm.PortBus.UnclaimedWrites, Is.EqualTo(1));
    }

    [Test]
    public void MmioReachesTheDeviceWithTheRightSizeAndData()
    {
        var device = new RecordingDevice("mmio-recorder");
        const ulong Base = KvmPlatform.MmioStart + 0x1000;
        using var vm = CreateVm(a =>
        {
            a.mov(rbx, Base);
            a.mov(__byte_ptr[rbx], 0x12);
            a.mov(__word_ptr[rbx + 2], 0x3456);
            a.mov(__dword_ptr[rbx + 4], 0x789ABCDE);
            a.mov(rcx, 0x0102030405060708);
            a.mov(__qword_ptr[rbx + 8], rcx);
            a.mov(eax, __dword_ptr[rbx + 16]);   // device answers 0x44332211
            a.ret();
        });
        vm.MmioBus.Register(Base, 0x100, device);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(0x44332211));
        Assert.That(device.Accesses, Is.EqualTo(new[]
        {
            (true, 0UL, 1, 0x12UL),
            (true, 2UL, 2, 0x3456UL),
            (true, 4UL, 4, 0x789ABCDEUL),
            (true, 8UL, 8, 0x0102030405060708UL),
            (false, 16UL, 4, 0UL),
        }));
        Assert.That(vm.Exits[ExitReason.Mmio], Is.EqualTo(5));
    }

    [Test]
    public void APortTheBitmapDeniesTrapsAsGeneralProtection()
    {
        using var vm = CreateVm(a =>
        {
            a.mov(dx, 0x1F0);
            a.@in(al, dx);
            a.ret();
        }); // no ports opened
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.Contain("#GP").And.Contain("in al,dx"));
        Assert.That(vm.Exits.TrapsByVector((byte)ExceptionVector.GeneralProtection), Is.EqualTo(1));
    }

    [Test]
    public void ADeviceThatThrowsStopsItsVmAndTheHostGoesOn()
    {
        var device = new RecordingDevice("exploding") { ThrowOnAccess = true };
        using var vm = CreateVm(a =>
        {
            a.mov(dx, 0x3F8);
            a.@out(dx, al);
            a.ret();
        }, WithPorts(0x3F8));
        vm.PortBus.Register(0x3F8, 8, device);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.HostError));
        Assert.That(stop.Message, Does.Contain("exploding").And.Contain("device exploded"));

        // Another VM on the same host runs normally afterwards.
        using var other = CreateVm(a => { a.mov(eax, 3); a.ret(); });
        Assert.That(RunToStop(other).ExitCode, Is.EqualTo(3));
    }

    [Test]
    public void TheTrapPortCannotBeOpenedToTheGuest()
    {
        Assert.That(() => CreateBareVm(WithPorts(ParaVirt.Abi.PlatformPorts.Trap)),
            Throws.ArgumentException.With.Message.Contains("trap port"));
    }
}
