using System;
using BenchmarkDotNet.Attributes;
using System.Threading;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Benchmarks;

/// <summary>
/// A null hypercall's round trip through the whole stack (guest stub, KVM exit, run loop, hypercall
/// table, back) against the exit floor: the same loop with an <c>out</c> whose handler does nothing.
/// One operation is one exit. Also a doorbell (KVM ioeventfd: the guest's <c>out</c> completes in
/// the kernel and only signals an eventfd), alone and as a request/completion round trip through a
/// host device thread. Compare the means of one run.
/// </summary>
[MemoryDiagnoser]
public class ExitBenchmarks
{
    private const int Exits = 10_000;
    private const ushort FloorPort = 0x80;

    private const ushort BellPort = 0x600;
    private const ulong FlagAddress = GuestCode.Entry + 0x10000;

    private VirtualMachine _floor = null!;
    private VirtualMachine _hypercall = null!;
    private VirtualMachine _ring = null!;
    private VirtualMachine _roundTrip = null!;
    private Doorbell _ringBell = null!;
    private Doorbell _roundTripBell = null!;
    private Thread _device = null!;

    [GlobalSetup]
    public void Setup()
    {
        _floor = GuestCode.CreateVm(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.@out((byte)FloorPort, al);
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        }, new VmOptions { MemorySize = 4UL << 20, OpenPorts = [FloorPort] });
        _floor.PortBus.Register(FloorPort, 1, new NullDevice());

        _hypercall = GuestCode.CreateVm(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            GuestCode.Hypercall(a, (uint)ParaVirt.Abi.Hypercall.Null);
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        });

        _ring = GuestCode.CreateVm(a =>
        {
            a.mov(dx, BellPort);
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.@out(dx, al);
            a.dec(rbx);
            a.jnz(loop);
            a.xor(eax, eax);
            a.ret();
        }, new VmOptions { MemorySize = 4UL << 20, OpenPorts = [BellPort] });
        _ringBell = _ring.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort);

        // Ring, then spin until the device thread has published the completion count.
        _roundTrip = GuestCode.CreateVm(a =>
        {
            a.mov(dx, BellPort);
            a.mov(rsi, FlagAddress);
            a.mov(ecx, __dword_ptr[rsi]);
            var next = a.CreateLabel();
            var wait = a.CreateLabel();
            a.Label(ref next);
            a.inc(ecx);
            a.@out(dx, al);
            a.Label(ref wait);
            a.pause();
            a.cmp(__dword_ptr[rsi], ecx);
            a.jne(wait);
            a.dec(rbx);
            a.jnz(next);
            a.xor(eax, eax);
            a.ret();
        }, new VmOptions { MemorySize = 4UL << 20, OpenPorts = [BellPort] });
        _roundTripBell = _roundTrip.GetVmFeature<IDoorbellProvider>()!.CreatePortDoorbell(BellPort);
        VirtualMachine roundTrip = _roundTrip;
        Doorbell bell = _roundTripBell;
        _device = new Thread(() =>
        {
            int completed = 0;
            while (bell.Wait() is long rings and > 0)
            {
                completed += (int)rings;
                roundTrip.Memory.TryWrite(FlagAddress, completed);
            }
        }) { IsBackground = true, Name = "doorbell device" };
        _device.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _roundTripBell.Dispose();
        _device.Join();
        _ringBell.Dispose();
        _floor.Dispose();
        _hypercall.Dispose();
        _ring.Dispose();
        _roundTrip.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Exits, Description = "exit floor (out, no-op handler)")]
    public VmStopReason ExitFloor() => Loop(_floor);

    [Benchmark(OperationsPerInvoke = Exits, Description = "null hypercall")]
    public VmStopReason NullHypercall() => Loop(_hypercall);

    [Benchmark(OperationsPerInvoke = Exits, Description = "doorbell ring (ioeventfd, no userspace exit)")]
    public VmStopReason DoorbellRing()
    {
        VmStopReason stop = Loop(_ring);
        _ringBell.Wait(); // drain the counter: it holds exactly the rings of this invocation
        return stop;
    }

    [Benchmark(OperationsPerInvoke = Exits, Description = "doorbell round trip (ring, device thread, completion)")]
    public VmStopReason DoorbellRoundTrip() => Loop(_roundTrip);

    private static VmStopReason Loop(VirtualMachine vm)
    {
        vm.PrepareEntry(GuestCode.Entry);
        vm.Registers.Rbx = Exits;
        VmStopReason stop = vm.Run();
        if (!stop.IsCleanExit)
            throw new InvalidOperationException(stop.ToString());
        return stop;
    }

    private sealed class NullDevice : IBusDevice
    {
        public string Name => "null";

        public void Read(ulong offset, Span<byte> data) => data.Clear();

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
        }
    }
}
