using System;
using BenchmarkDotNet.Attributes;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Benchmarks;

/// <summary>
/// A null hypercall's round trip through the whole stack (guest stub, KVM exit, run loop, hypercall
/// table, back) against the exit floor: the same loop with an <c>out</c> whose handler does nothing.
/// One operation is one exit. Compare the two means of one run.
/// </summary>
[MemoryDiagnoser]
public class ExitBenchmarks
{
    private const int Exits = 10_000;
    private const ushort FloorPort = 0x80;

    private VirtualMachine _floor = null!;
    private VirtualMachine _hypercall = null!;

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
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _floor.Dispose();
        _hypercall.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Exits, Description = "exit floor (out, no-op handler)")]
    public VmStopReason ExitFloor() => Loop(_floor);

    [Benchmark(OperationsPerInvoke = Exits, Description = "null hypercall")]
    public VmStopReason NullHypercall() => Loop(_hypercall);

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
