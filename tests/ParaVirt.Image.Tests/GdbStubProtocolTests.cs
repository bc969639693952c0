using System.Buffers.Binary;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;
using ParaVirt.Vmm.Debugging;

namespace ParaVirt.Image.Tests;

/// <summary>
/// The gdb stub at the protocol level, with a raw TCP client on a real KVM guest (Hello): stop at
/// the entry, registers and memory, breakpoints and steps, and a confused or hostile client
/// (bad checksums, malformed packets, huge lengths, addresses outside memory, a client that
/// vanishes) that gets error replies or a closed connection while the guest runs on.
/// </summary>
public class GdbStubProtocolTests : KvmTestBase
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(60);

    private static (Machine Machine, GdbStub Stub, Task<VmStopReason> Run) StartHello(bool waitForClient = true)
    {
        Machine machine = MachineBuilder.Create(Engines.Default).WithImage(Guests.HelloImage).Build();
        GdbStub stub = machine.AttachGdb(0, waitForClient);
        return (machine, stub, machine.Vm.RunAsync(RunLimit));
    }

    private static ulong Symbol(string name) => ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions()).Symbols[name];

    private static ulong RegisterFromG(string g, int index) =>
        BinaryPrimitives.ReadUInt64LittleEndian(Convert.FromHexString(g.Substring(index * 16, 16)));

    [Test]
    public void StopsAtTheEntryAndServesRegistersAndMemory()
    {
        (Machine machine, GdbStub stub, Task<VmStopReason> run) = StartHello();
        using (machine)
        using (stub)
        using (var client = new RspClient(stub.Port))
        {
            Assert.That(client.Ask("qSupported:multiprocess+;swbreak+"), Does.Contain("PacketSize=4000").And.Contain("qXfer:features:read+"));
            Assert.That(client.Ask("?"), Is.EqualTo("T05thread:1;"));
            string xml = client.Ask("qXfer:features:read:target.xml:0,3fff");
            Assert.That(xml, Does.StartWith("l").And.Contain("<architecture>i386:x86-64</architecture>"));
            string g = client.Ask("g");
            PvImage image = PvImageReader.ReadFile(Guests.HelloImage);
            ulong entry = image.Entry;
            Assert.That(RegisterFromG(g, 16), Is.EqualTo(entry), "RIP is the image's entry");
            Assert.That(g, Has.Length.EqualTo((17 * 16) + 8 + (6 * 8) + (8 * 20) + (8 * 8)));
            byte[] code = image.Sections.Single(s => s.Contains(entry)).Data;
            ulong sectionStart = image.Sections.Single(s => s.Contains(entry)).Address;
            string expected = Convert.ToHexStringLower(code.AsSpan((int)(entry - sectionStart), 8));
            Assert.That(client.Ask($"m{entry:x},8"), Is.EqualTo(expected), "memory at a guest virtual address");
            Assert.That(client.Ask($"p10"), Is.EqualTo(g.Substring(16 * 16, 16)), "p reads RIP (register 0x10)");
            Assert.That(run.IsCompleted, Is.False, "the guest waits for the client");
            client.SendRaw(RspClient.Frame("c"));
            Assert.That(client.ReadPacket(), Is.EqualTo("W00"), "the guest ran to its end and exited with 0");
        }
        VmStopReason stop = run.GetAwaiter().GetResult();
        Assert.That(stop.IsCleanExit, Is.True, stop.ToString());
    }

    [Test]
    public void BreakpointStopsAtItsAddressAndStepMovesOn()
    {
        ulong compute = Symbol("Hello_Hello_Crc32__Compute");
        (Machine machine, GdbStub stub, Task<VmStopReason> run) = StartHello();
        using (machine)
        using (stub)
        using (var client = new RspClient(stub.Port))
        {
            Assert.That(client.Ask("?"), Is.EqualTo("T05thread:1;"));
            string original = client.Ask($"m{compute:x},1");
            Assert.That(client.Ask($"Z0,{compute:x},1"), Is.EqualTo("OK"));
            Assert.That(client.Ask($"m{compute:x},1"), Is.EqualTo("cc"), "int3 is in guest memory");
            client.SendRaw(RspClient.Frame("c"));
            Assert.That(client.ReadPacket(), Is.EqualTo("T05swbreak:;thread:1;"));
            Assert.That(RegisterFromG(client.Ask("g"), 16), Is.EqualTo(compute), "RIP is the breakpoint's address, not one past it");
            Assert.That(client.Ask($"z0,{compute:x},1"), Is.EqualTo("OK"));
            Assert.That(client.Ask($"m{compute:x},1"), Is.EqualTo(original), "the original byte is back");
            client.SendRaw(RspClient.Frame("s"));
            Assert.That(client.ReadPacket(), Is.EqualTo("T05thread:1;"));
            string g = client.Ask("g");
            ulong rip = RegisterFromG(g, 16);
            Assert.That(rip, Is.GreaterThan(compute).And.LessThan(compute + 16), "one instruction further");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(Convert.FromHexString(g.Substring(17 * 16, 8))) & 0x100, Is.Zero, "TF is not left set");
            Assert.That(client.Ask("D"), Is.EqualTo("OK"));
            // Detached, the guest runs on: wait for its end before the machine is disposed (disposing
            // first stops it, "the VM is being disposed", as seen under load).
            Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, "the guest ran to its end after the detach");
        }
        VmStopReason stop = run.GetAwaiter().GetResult();
        Assert.That(stop.IsCleanExit, Is.True, stop.ToString());
    }

    [Test]
    public void MalformedPacketsGetErrorRepliesAndTheGuestRunsOn()
    {
        (Machine machine, GdbStub stub, Task<VmStopReason> run) = StartHello();
        using (machine)
        using (stub)
        using (var client = new RspClient(stub.Port))
        {
            client.SendRaw("$?#00");
            Assert.That(client.ReadAck(), Is.EqualTo('-'), "a bad checksum is refused");
            client.SendRaw("$?#zz");
            Assert.That(client.ReadAck(), Is.EqualTo('-'), "so is a checksum that is not hex");
            Assert.That(client.Ask("?"), Is.EqualTo("T05thread:1;"), "and the stub still works");
            Assert.That(client.Ask("m"), Is.EqualTo("E01"));
            Assert.That(client.Ask("mzz,4"), Is.EqualTo("E01"));
            Assert.That(client.Ask("m200000"), Is.EqualTo("E01"));
            Assert.That(client.Ask("m11112222333344445555,4"), Is.EqualTo("E01"), "an address longer than 64 bits");
            Assert.That(client.Ask("mffff800000000000,10"), Is.EqualTo("E14"), "a kernel-half address the guest does not map");
            Assert.That(client.Ask("m7fffffff0000,10"), Is.EqualTo("E14"), "a canonical user address outside the mappings");
            Assert.That(client.Ask("m0000800000000000,10"), Is.EqualTo("E14"), "a non-canonical address");
            string big = client.Ask("m200000,ffffffffffffffff");
            Assert.That(big.Length, Is.LessThanOrEqualTo(2 * GdbStub.MaxMemoryTransfer).And.GreaterThan(0), "a huge length is capped");
            Assert.That(client.Ask("M7fffffff0000,4:00000000"), Is.EqualTo("E14"));
            Assert.That(client.Ask("M200000,4:0000"), Is.EqualTo("E01"), "fewer bytes than the length says");
            Assert.That(client.Ask("M200000,ffffffff:00"), Is.EqualTo("E01"), "a huge write length");
            Assert.That(client.Ask("X200000,4:}"), Is.EqualTo("E01"), "an escape at the end");
            Assert.That(client.Ask("Z0,7fffffff0000,1"), Is.EqualTo("E14"), "a breakpoint outside memory");
            Assert.That(client.Ask("Z0"), Is.EqualTo("E01"));
            Assert.That(client.Ask("Z1,200000,1"), Is.EqualTo(""), "hardware breakpoints are not offered");
            Assert.That(client.Ask("p99"), Is.EqualTo("E01"));
            Assert.That(client.Ask("P10=12"), Is.EqualTo("E01"), "a register value of the wrong size");
            Assert.That(client.Ask("Pzz=00"), Is.EqualTo("E01"));
            Assert.That(client.Ask("G00"), Is.EqualTo("OK"), "a short G changes only what it covers");
            Assert.That(client.Ask("vMustReplyEmpty"), Is.EqualTo(""));
            Assert.That(client.Ask("qXfer:features:read:target.xml:zz"), Is.EqualTo("E01"));
            Assert.That(client.Ask("cxyz"), Is.EqualTo("E01"), "continue at an address that is not hex");
            client.SendRaw(RspClient.Frame("c"));
            Assert.That(client.ReadPacket(), Is.EqualTo("W00"), "the guest, untouched by the bad packets, ran to its end");
        }
        VmStopReason stop = run.GetAwaiter().GetResult();
        Assert.That(stop.IsCleanExit, Is.True, stop.ToString());
    }

    [Test]
    public void AnOverlongPacketClosesTheConnectionAndTheGuestRunsOn()
    {
        (Machine machine, GdbStub stub, Task<VmStopReason> run) = StartHello();
        using (machine)
        using (stub)
        {
            using (var client = new RspClient(stub.Port))
            {
                Assert.That(client.Ask("?"), Is.EqualTo("T05thread:1;"));
                client.SendRaw("$" + new string('m', 1 << 20));
                Assert.That(client.WaitClosed(20_000), Is.True, "the stub drops a client whose packet has no end");
            }
            VmStopReason stop = run.GetAwaiter().GetResult();
            Assert.That(stop.IsCleanExit, Is.True, $"the guest ran on without the debugger: {stop}");
        }
    }

    [Test]
    public void AClientThatVanishesWhileStoppedLeavesTheGuestRunning()
    {
        ulong compute = Symbol("Hello_Hello_Crc32__Compute");
        (Machine machine, GdbStub stub, Task<VmStopReason> run) = StartHello();
        using (machine)
        using (stub)
        {
            using (var client = new RspClient(stub.Port))
            {
                Assert.That(client.Ask($"Z0,{compute:x},1"), Is.EqualTo("OK"));
                client.SendRaw(RspClient.Frame("c"));
                Assert.That(client.ReadPacket(), Is.EqualTo("T05swbreak:;thread:1;"));
                // The breakpoint is still inserted when the client goes away without a word.
            }
            VmStopReason stop = run.GetAwaiter().GetResult();
            Assert.That(stop.IsCleanExit, Is.True, $"breakpoints removed, the guest finished: {stop}");
            Assert.That(machine.Vm.Memory.TryRead(compute, out byte first) && first != 0xCC, Is.True, "no int3 left behind");
        }
    }

    [Test]
    public void CtrlCInterruptsASpinningGuestAndKillStopsIt()
    {
        using Machine machine = MachineBuilder.Create(Engines.Default).WithMemory(16UL << 20).Build();
        VirtualMachine vm = machine.Vm;
        ulong code = vm.Layout.GuestRamStart;
        Assert.That(vm.WritableMemory.TryWrite(code, new byte[] { 0xEB, 0xFE }), Is.True); // jmp $
        vm.PrepareEntry(code);
        using GdbStub stub = machine.AttachGdb(0);
        Task<VmStopReason> run = vm.RunAsync(RunLimit);
        using var client = new RspClient(stub.Port);
        Assert.That(client.Ask("?"), Is.EqualTo("T05thread:1;"));
        client.SendRaw(RspClient.Frame("c"));
        Thread.Sleep(200);
        Assert.That(run.IsCompleted, Is.False, "the guest spins");
        client.SendRaw([0x03]);
        Assert.That(client.ReadPacket(), Is.EqualTo("T02thread:1;"), "Ctrl-C stops it with SIGINT");
        Assert.That(RegisterFromG(client.Ask("g"), 16), Is.EqualTo(code), "at the spinning jmp");
        client.SendRaw(RspClient.Frame("k"));
        VmStopReason stop = run.GetAwaiter().GetResult();
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.StopRequested));
        Assert.That(stop.Message, Does.Contain("killed by the debugger"));
    }
}
