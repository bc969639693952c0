using System.IO;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Kvm.Tests;

/// <summary>
/// Disposing a VM while device threads still use it: guest RAM is unmapped only after the threads'
/// leases are released, and a doorbell's eventfd is closed only after its waiter left Wait.
/// </summary>
public class DisposeUnderDeviceThreadTests : KvmFixture
{
    private const ushort BellPort = 0x600;
    private const int Chunk = 1 << 20;

    private static VmOptions WithBellPort() => new() { MemorySize = 8UL << 20, OpenPorts = [BellPort] };

    [Test]
    public void ADeviceThreadCopyingGuestMemoryWhileTheVmIsDisposedSeesTheMemoryGone()
    {
        VirtualMachine vm = CreateVm(a => a.ret(), WithBellPort());
        GuestMemory memory = vm.Memory; // the VM's guest-accessible view, as devices get it
        ulong source = CodeAddress + 0x100000, target = source + Chunk;
        long copies = 0;
        string outcome = "still running";
        var device = new Thread(() =>
        {
            var scratch = new byte[Chunk];
            while (true)
            {
                using GuestMemoryLease lease = memory.Lease();
                if (!lease.IsHeld)
                {
                    outcome = "memory gone";
                    return;
                }
                if (!memory.TryGetSpan(source, Chunk, out Span<byte> from) || !memory.TryGetSpan(target, Chunk, out Span<byte> to))
                {
                    outcome = "span refused under a lease";
                    return;
                }
                from.CopyTo(scratch);
                scratch.CopyTo(to);
                Interlocked.Increment(ref copies);
            }
        }) { IsBackground = true };
        device.Start();
        SpinWait.SpinUntil(() => Interlocked.Read(ref copies) >= 20);

        vm.Dispose();

        Assert.That(device.Join(TimeSpan.FromSeconds(10)), Is.True, "the device thread left its loop");
        Assert.That(outcome, Is.EqualTo("memory gone"));
        Assert.That(vm.PhysicalMemory.IsUnmapped, Is.True, "RAM is unmapped once the lease is gone");
    }

    [Test]
    public void AWaiterBlockedInWaitWhenTheVmIsDisposedReturnsZeroAndTheEventfdClosesAfter()
    {
        VirtualMachine vm = CreateVm(a => a.ret(), WithBellPort());
        var bell = (KvmDoorbell)vm.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort);
        long result = -1;
        var waiter = new Thread(() => result = bell.Wait()) { IsBackground = true };
        waiter.Start();
        SpinWait.SpinUntil(() => bell.Uses == 1); // inside Wait (in read(), or about to be)

        vm.Dispose();

        Assert.That(waiter.Join(TimeSpan.FromSeconds(10)), Is.True, "the waiter was woken");
        Assert.That(result, Is.Zero, "a waiter woken by dispose gets 0");
        Assert.That(bell.IsClosed, Is.True);
        Assert.That(bell.Wait(), Is.Zero, "a closed doorbell never blocks");
    }

    [Test]
    public void TheEventfdIsNotClosedWhileAThreadIsStillInsideTheDoorbell()
    {
        using VirtualMachine vm = CreateVm(a => a.ret(), WithBellPort());
        var bell = (KvmDoorbell)vm.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort);
        int fd = bell.EventFd;
        // A waiter between its disposed check and its read(): it has entered and not yet left.
        Assert.That(bell.TryEnter(), Is.True);

        Assert.That(bell.Close(TimeSpan.FromMilliseconds(20)), Is.False, "the close waits, then is deferred");
        Assert.That(bell.IsClosed, Is.False);
        Assert.That(new FileInfo($"/proc/self/fd/{fd}").LinkTarget, Does.Contain("eventfd"), "the descriptor is still the doorbell's");
        Assert.That(bell.TryEnter(), Is.False, "no new use once closing");

        bell.Exit();
        Assert.That(bell.IsClosed, Is.True, "the last thread to leave closed it");
    }
}
