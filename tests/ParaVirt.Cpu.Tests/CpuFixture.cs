using System.IO;
using Iced.Intel;
using ParaVirt.Core.Machine;
using ParaVirt.Kvm.Platform;
using ParaVirt.Vmm;
using static Iced.Intel.AssemblerRegisters;

namespace ParaVirt.Cpu.Tests;

/// <summary>Base for tests on real KVM: builds guests from Iced code and attaches CPU virtualization.</summary>
public abstract class CpuFixture
{
    /// <summary>Where test guests are loaded and entered.</summary>
    protected const ulong CodeAddress = KvmPlatform.GuestRamStart;

    /// <summary>Where tests put a guest's interrupt handlers (one 256-byte slot per handler).</summary>
    protected const ulong HandlerAddress = CodeAddress + 0x10000;

    /// <summary>Where tests put the guest's IDT (256 gates) and its pseudo-descriptor.</summary>
    protected const ulong IdtAddress = CodeAddress + 0x20000, IdtrAddress = CodeAddress + 0x21000;

    /// <summary>A guest data area (counters).</summary>
    protected const ulong DataAddress = CodeAddress + 0x22000;

    /// <summary>The shared-info page on the KVM platform.</summary>
    protected const ulong SharedInfoAddress = KvmPlatform.SharedInfoPage;

    [SetUp]
    public void RequireKvm()
    {
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
    }

    /// <summary>Assembles 64-bit code placed at <paramref name="rip"/>.</summary>
    protected static byte[] Assemble(Action<Assembler> build, ulong rip)
    {
        var a = new Assembler(64);
        build(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), rip);
        return stream.ToArray();
    }

    /// <summary>Emits a call through the hypercall page (arguments already in RDI, RSI, RDX, RCX).</summary>
    protected static void Call(Assembler a, ParaVirt.Abi.Hypercall number)
    {
        a.mov(r11, KvmPlatform.HypercallPage + (uint)number * ParaVirt.Abi.HypercallPage.StubSize);
        a.call(r11);
    }

    /// <summary>
    /// Creates a machine of <paramref name="mode"/> (its platform and CPU virtualization, from
    /// <see cref="MachineBuilder"/>) whose vCPU enters <paramref name="build"/>'s code. Only
    /// <paramref name="openPorts"/> pass the I/O bitmap (none by default: port I/O traps and is emulated).
    /// </summary>
    protected static (VirtualMachine Vm, VirtualCpu Cpu) CreateVm(VirtualizationMode mode, Action<Assembler> build, IReadOnlyList<ushort>? openPorts = null)
    {
        Machine machine = MachineBuilder.Create(Engines.Default).WithMemory(8UL << 20).WithMode(mode).WithOpenPorts(openPorts ?? []).Build();
        VirtualMachine vm = machine.Vm;
        try
        {
            Assert.That(vm.Memory.TryWrite(CodeAddress, Assemble(build, CodeAddress)), Is.True);
            vm.PrepareEntry(CodeAddress);
            return (vm, machine.Cpu!);
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    /// <summary>Writes handler code at <paramref name="address"/> and a present 64-bit gate for <paramref name="vector"/> pointing at it, and the IDTR the guest loads.</summary>
    protected static void InstallHandler(VirtualMachine vm, byte vector, Action<Assembler> handler, ulong address, bool trapGate = false)
    {
        Assert.That(vm.Memory.TryWrite(address, Assemble(handler, address)), Is.True);
        var gate = new byte[16];
        BitConverter.TryWriteBytes(gate.AsSpan(0, 2), (ushort)address);
        BitConverter.TryWriteBytes(gate.AsSpan(2, 2), (ushort)KvmPlatform.UserCode);
        gate[5] = (byte)(0x80 | 0x60 | (trapGate ? 0xF : 0xE)); // present, DPL3, 64-bit interrupt or trap gate
        BitConverter.TryWriteBytes(gate.AsSpan(6, 2), (ushort)(address >> 16));
        BitConverter.TryWriteBytes(gate.AsSpan(8, 4), (uint)(address >> 32));
        Assert.That(vm.Memory.TryWrite(IdtAddress + vector * 16UL, gate), Is.True);
        WriteIdtr(vm, IdtAddress, 256 * 16 - 1);
    }

    /// <summary>Writes the 10-byte pseudo-descriptor at <see cref="IdtrAddress"/>.</summary>
    protected static void WriteIdtr(VirtualMachine vm, ulong idtBase, ushort limit)
    {
        var idtr = new byte[10];
        BitConverter.TryWriteBytes(idtr.AsSpan(0, 2), limit);
        BitConverter.TryWriteBytes(idtr.AsSpan(2, 8), idtBase);
        Assert.That(vm.Memory.TryWrite(IdtrAddress, idtr), Is.True);
    }

    /// <summary>Runs to completion with a watchdog, so a broken test cannot hang the suite.</summary>
    /// <summary>
    /// Guest preamble: load the IDT pseudo-descriptor at <see cref="IdtrAddress"/> (<c>lidt</c>, trapped),
    /// zero r15 (the tests' interrupt counter), and program PIT channel 0 as a rate generator with a
    /// reload of 1193 (about 1 ms).
    /// </summary>
    protected static void LoadIdtAndStartMillisecondTimer(Assembler a)
    {
        a.mov(rcx, IdtrAddress);
        a.lidt(__[rcx]);
        a.xor(r15d, r15d);
        a.mov(al, 0x34);    // channel 0, lobyte/hibyte, mode 2
        a.@out(0x43, al);
        a.mov(ax, 1193);
        a.@out(0x40, al);
        a.mov(al, ah);
        a.@out(0x40, al);
    }

    /// <summary>Guest step: arms PIT channel 0 in mode 0 (interrupt on terminal count) for <paramref name="ticks"/> ticks of 838 ns.</summary>
    protected static void ArmPitOneShot(Assembler a, byte ticks)
    {
        a.mov(al, 0x30);    // channel 0, lobyte/hibyte, mode 0
        a.@out(0x43, al);
        a.mov(al, ticks);
        a.@out(0x40, al);
        a.xor(al, al);
        a.@out(0x40, al);
    }

    /// <summary>
    /// Writes a para event callback at <see cref="HandlerAddress"/>: counts the upcall in r15, clears
    /// the pending events and the upcall-pending byte of the shared-info page, unmasks, and returns
    /// with iretq.
    /// </summary>
    protected static void WriteCountingEventCallback(VirtualMachine vm) =>
        Assert.That(vm.Memory.TryWrite(HandlerAddress, Assemble(h =>
        {
            h.inc(r15);
            h.push(rbx);
            h.mov(rbx, SharedInfoAddress);
            h.mov(__qword_ptr[rbx + 8], 0);
            h.mov(__byte_ptr[rbx + 1], 0);
            h.mov(__byte_ptr[rbx], 0);   // unmask
            h.pop(rbx);
            h.iretq();
        }, HandlerAddress)), Is.True);

    protected static VmStopReason RunToStop(VirtualMachine vm, int seconds = 10) => vm.Run(TimeSpan.FromSeconds(seconds));

    /// <summary>The PIT's ports (0x40-0x43), for VMs that let them through the I/O bitmap.</summary>
    protected static readonly ushort[] PitPorts = [0x40, 0x41, 0x42, 0x43];
}
