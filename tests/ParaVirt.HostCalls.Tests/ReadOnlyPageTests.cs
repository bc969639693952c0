using System.Runtime.InteropServices;
using ParaVirt.Abi;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.HostCalls;
using ParaVirt.Vmm;

namespace ParaVirt.HostCalls.Tests;

/// <summary>
/// The hypercall page and the start-info page are read-only for the guest (docs/abi.md): the host
/// writes nothing there on a guest's behalf, whichever hypercall names them.
/// </summary>
public class ReadOnlyPageTests
{
    private const ulong RequestAt = 0x300000, ResponseAt = 0x310000, ListAt = 0x320000;

    private VirtualMachine _vm = null!;
    private byte[] _stubs = null!, _startInfo = null!;

    [SetUp]
    public void CreateVm()
    {
        _vm = MachineBuilder.Create(new FakeEngine()).WithMemory(4UL << 20).Build().Vm;
        TestFunctions.Create().Attach(_vm);
        // Stand-ins for the stubs and the start-info page, as an engine and PrepareEntry write them.
        _stubs = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 1)).ToArray();
        _startInfo = Enumerable.Range(0, 4096).Select(i => (byte)(i * 13 + 5)).ToArray();
        Assert.That(_vm.PhysicalMemory.TryWrite(_vm.Layout.HypercallPage, _stubs), Is.True);
        Assert.That(_vm.PhysicalMemory.TryWrite(_vm.Layout.StartInfoPage, _startInfo), Is.True);
    }

    [TearDown]
    public void DisposeVm() => _vm.Dispose();

    private void AssertPagesUnchanged()
    {
        var page = new byte[4096];
        Assert.That(_vm.PhysicalMemory.TryRead(_vm.Layout.HypercallPage, page), Is.True);
        Assert.That(page, Is.EqualTo(_stubs), "the hypercall page is unchanged");
        Assert.That(_vm.PhysicalMemory.TryRead(_vm.Layout.StartInfoPage, page), Is.True);
        Assert.That(page, Is.EqualTo(_startInfo), "the start-info page is unchanged");
    }

    private long Call(Hypercall call, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0) =>
        _vm.Hypercalls.Dispatch(_vm, (ulong)call, new HypercallArgs(a0, a1, a2, a3));

    [TestCase(0UL)]
    [TestCase(0xFC0UL)]
    public void AMulticallListOnTheHypercallPageIsRefusedUnwritten(ulong offset)
    {
        // The page's own bytes read as entries { Number, args, Result }: running them would write Result into a stub.
        long result = Call(Hypercall.Multicall, _vm.Layout.HypercallPage + offset, 1);
        Assert.That(result, Is.EqualTo((long)HypercallStatus.BadAddress));
        AssertPagesUnchanged();
    }

    [Test]
    public void AMulticallListOnTheStartInfoPageIsRefusedUnwritten()
    {
        Assert.That(Call(Hypercall.Multicall, _vm.Layout.StartInfoPage, 2), Is.EqualTo((long)HypercallStatus.BadAddress));
        AssertPagesUnchanged();
    }

    [Test]
    public void AMulticallListInRamOrTheSharedInfoPageStillRuns()
    {
        var entry = new MulticallEntry { Number = (ulong)Hypercall.GetVersion, Result = -99 };
        foreach (ulong at in new[] { ListAt, _vm.Layout.SharedInfoPage })
        {
            Assert.That(_vm.PhysicalMemory.TryWrite(at, entry), Is.True);
            Assert.That(Call(Hypercall.Multicall, at, 1), Is.EqualTo(1));
            Assert.That(_vm.PhysicalMemory.TryRead(at, out MulticallEntry done), Is.True);
            Assert.That(done.Result, Is.EqualTo((long)AbiVersion.Current));
        }
        Assert.That(Marshal.SizeOf<MulticallEntry>(), Is.EqualTo(64));
    }

    [TestCase(0UL)]
    [TestCase(0x1000UL)]
    public void AHostCallResponseOnAReadOnlyPageIsRefused(ulong page)
    {
        byte[] request = Messages.Request("add", 2L, 40L);
        Assert.That(_vm.Memory.TryWrite(RequestAt, request), Is.True);
        Assert.That(Call(Hypercall.HostCall, RequestAt, (ulong)request.Length, _vm.Layout.HypercallPage + page, 64), Is.EqualTo((long)HypercallStatus.BadAddress));
        AssertPagesUnchanged();
        Assert.That(Call(Hypercall.HostCall, RequestAt, (ulong)request.Length, ResponseAt, 64), Is.GreaterThan(0), "the same call with its response in RAM runs");
    }

    [Test]
    public void AHostCallRequestMayBeReadFromTheStartInfoPage()
    {
        // Reads keep the wider view: the guest may name a read-only page as a source.
        byte[] request = Messages.Request("add", 2L, 40L);
        Assert.That(_vm.PhysicalMemory.TryWrite(_vm.Layout.StartInfoPage + 512, request), Is.True);
        Assert.That(Call(Hypercall.HostCall, _vm.Layout.StartInfoPage + 512, (ulong)request.Length, ResponseAt, 64), Is.GreaterThan(0));
    }

    [Test]
    public void TheWritableViewAdmitsRamAndTheSharedInfoPageOnly()
    {
        Assert.That(_vm.WritableMemory.IsValid(_vm.Layout.SharedInfoPage, 4096), Is.True);
        Assert.That(_vm.WritableMemory.IsValid(_vm.Layout.GuestRamStart, _vm.Layout.GuestRamEnd - _vm.Layout.GuestRamStart), Is.True);
        Assert.That(_vm.WritableMemory.IsValid(_vm.Layout.HypercallPage, 1), Is.False);
        Assert.That(_vm.WritableMemory.IsValid(_vm.Layout.StartInfoPage + 4095, 1), Is.False);
        Assert.That(_vm.Memory.IsValid(_vm.Layout.HypercallPage, 3 * 4096), Is.True, "reads still see the read-only pages");
    }
}
