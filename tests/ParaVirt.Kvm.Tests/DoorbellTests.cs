using ParaVirt.Core.Cpu;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Kvm.Tests;

/// <summary>Doorbells (KVM ioeventfd): the guest's out is completed in the kernel and only wakes a host thread.</summary>
public class DoorbellTests : KvmFixture
{
    private const ushort BellPort = 0x600;
    private const ulong FlagAddress = CodeAddress + 0x10000;

    private static VmOptions WithBellPort() => new() { MemorySize = 4UL << 20, OpenPorts = [BellPort] };

    [Test]
    public void RingsNeverReachUserspaceAndCoalesceIntoACount()
    {
        using var vm = CreateVm(a =>
        {
            a.mov(dx, BellPort);
            a.mov(ebx, 1000);
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.@out(dx, al);
            a.dec(ebx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        }, WithBellPort());
        using Doorbell bell = vm.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.IsCleanExit, Is.True, stop.Message);
        Assert.That(vm.Exits[ExitReason.PortIo], Is.Zero, "no ring reached the host's port bus");
        Assert.That(vm.Exits.Total, Is.EqualTo(1), "the only userspace exit is the shutdown hypercall");
        Assert.That(bell.Wait(), Is.EqualTo(1000), "every ring counted");
    }

    [Test]
    public void ADeviceThreadAnswersWhileTheGuestRunsOn()
    {
        // The guest rings 100 times; after each ring it spins until the host's device thread has
        // written the ring number into guest memory: a request/completion cycle with no userspace exit.
        using var vm = CreateVm(a =>
        {
            a.mov(dx, BellPort);
            a.mov(rsi, FlagAddress);
            a.xor(ebx, ebx);
            var next = a.CreateLabel();
            var wait = a.CreateLabel();
            a.Label(ref next);
            a.inc(ebx);
            a.@out(dx, al);
            a.Label(ref wait);
            a.pause();
            a.cmp(__dword_ptr[rsi], ebx);
            a.jne(wait);
            a.cmp(ebx, 100);
            a.jne(next);
            a.mov(eax, __dword_ptr[rsi]);
            a.ret();
        }, WithBellPort());
        Doorbell bell = vm.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort);
        int completed = 0;
        var device = new Thread(() =>
        {
            while (bell.Wait() is long rings and > 0)
            {
                completed += (int)rings;
                vm.Memory.TryWrite(FlagAddress, completed);
            }
        });
        device.Start();
        VmStopReason stop = RunToStop(vm);
        bell.Dispose();
        Assert.That(device.Join(TimeSpan.FromSeconds(5)), Is.True, "disposing the doorbell wakes its thread");
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Assert.That(stop.ExitCode, Is.EqualTo(100));
        Assert.That(vm.Exits[ExitReason.PortIo], Is.Zero);
        Assert.That(vm.Exits.Total, Is.EqualTo(1));
    }

    [Test]
    public void AWaiterIsWokenWithZeroByDispose()
    {
        using var vm = CreateVm(a => a.ret(), WithBellPort());
        Doorbell bell = vm.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort);
        Task<long> waiter = Task.Run(bell.Wait);
        Thread.Sleep(50);
        bell.Dispose();
        Assert.That(waiter.Wait(TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(waiter.Result, Is.Zero);
        Assert.That(bell.Wait(), Is.Zero, "a disposed doorbell never blocks");
    }

    [Test]
    public void ADoorbellDoesNotOpenItsPort()
    {
        using var vm = CreateVm(a => { a.mov(dx, BellPort); a.@out(dx, al); a.ret(); }); // port not in the bitmap
        using Doorbell bell = vm.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort);
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.UnhandledTrap));
        Assert.That(stop.Message, Does.Contain("#GP"));
    }

    [Test]
    public void AfterDisposeTheGuestsWritesExitToThePortBusAgain()
    {
        using var vm = CreateVm(a => { a.mov(dx, BellPort); a.@out(dx, al); a.ret(); }, WithBellPort());
        vm.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort).Dispose();
        VmStopReason stop = RunToStop(vm);
        Assert.That(stop.IsCleanExit, Is.True, stop.Message);
        Assert.That(vm.Exits[ExitReason.PortIo], Is.EqualTo(1));
    }

    [Test]
    public void PlatformPortsCannotBecomeDoorbells()
    {
        using var vm = CreateVm(a => a.ret());
        var provider = vm.GetVmFeature<IDoorbellProvider>()!;
        Assert.That(() => provider.CreatePortDoorbell(ParaVirt.Abi.PlatformPorts.Hypercall), Throws.ArgumentException);
        Assert.That(() => provider.CreatePortDoorbell(ParaVirt.Abi.PlatformPorts.Trap), Throws.ArgumentException);
    }
}
