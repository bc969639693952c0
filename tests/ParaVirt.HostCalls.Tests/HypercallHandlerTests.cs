using ParaVirt.Abi;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.HostCalls;
using ParaVirt.Vmm;

namespace ParaVirt.HostCalls.Tests;

/// <summary>The HostCall hypercall (6) with guest-supplied addresses: checked against guest memory before anything is read or written.</summary>
public class HypercallHandlerTests
{
    private const ulong MemorySize = 4UL << 20;
    private const ulong RequestAt = 0x300000, ResponseAt = 0x310000;

    private VirtualMachine _vm = null!;
    private HostCallDispatcher _dispatcher = null!;

    [SetUp]
    public void CreateVm()
    {
        _vm = MachineBuilder.Create(new FakeEngine()).WithMemory(MemorySize).Build().Vm;
        _dispatcher = TestFunctions.Create().Attach(_vm);
    }

    [TearDown]
    public void DisposeVm() => _vm.Dispose();

    private long HostCall(ulong request, ulong requestLength, ulong response, ulong capacity) =>
        _vm.Hypercalls.Dispatch(_vm, (ulong)Hypercall.HostCall, new HypercallArgs(request, requestLength, response, capacity));

    private int PutRequest(byte[] request)
    {
        Assert.That(_vm.Memory.TryWrite(RequestAt, request), Is.True);
        return request.Length;
    }

    [Test]
    public void AttachSetsTheFeatureBitAndRegistersHypercallSix()
    {
        Assert.That(_vm.Features.HasFlag(HypercallFeatures.HostCall), Is.True);
        Assert.That(_vm.Features.HasFlag(HypercallFeatures.Console), Is.True, "the other features stay");
        Assert.That(_vm.Hypercalls.NameOf((uint)Hypercall.HostCall), Is.EqualTo("HostCall"));
        Assert.That(_vm.Hypercalls.Dispatch(_vm, (ulong)Hypercall.GetFeatures, default) & (long)HypercallFeatures.HostCall, Is.Not.Zero);
    }

    [Test]
    public void AttachingTwiceToOneVmIsRefused() =>
        Assert.That(() => TestFunctions.Create().Attach(_vm), Throws.ArgumentException);

    [Test]
    public void ACallReadsGuestMemoryAndWritesTheResponseThere()
    {
        int length = PutRequest(Messages.Request("add", 2L, 40L));
        long written = HostCall(RequestAt, (ulong)length, ResponseAt, 64);
        Assert.That(written, Is.GreaterThan(0));
        var response = new byte[written];
        Assert.That(_vm.Memory.TryRead(ResponseAt, response), Is.True);
        Assert.That(Messages.Decode(response), Is.EqualTo(new Messages.Response(0, 42L)));
        Assert.That(_vm.Hypercalls.GetStatistics((uint)Hypercall.HostCall).Calls, Is.EqualTo(1));
    }

    [TestCase(MemorySize, 8UL, TestName = "request at the end of RAM")]
    [TestCase(MemorySize - 4, 8UL, TestName = "request straddling the end of RAM")]
    [TestCase(ulong.MaxValue - 3, 8UL, TestName = "request address wrapping around")]
    [TestCase(0x1_0000_0000UL, 8UL, TestName = "request far outside RAM")]
    public void ARequestOutsideGuestMemoryIsABadAddress(ulong address, ulong length) =>
        Assert.That(HostCall(address, length, ResponseAt, 64), Is.EqualTo((long)HypercallStatus.BadAddress));

    [TestCase(MemorySize - 8, 64UL, TestName = "response straddling the end of RAM")]
    [TestCase(ulong.MaxValue - 15, 64UL, TestName = "response address wrapping around")]
    [TestCase(MemorySize, 1UL, TestName = "response just past RAM")]
    public void AResponseOutsideGuestMemoryIsABadAddress(ulong address, ulong capacity)
    {
        int length = PutRequest(Messages.Request("answer"));
        Assert.That(HostCall(RequestAt, (ulong)length, address, capacity), Is.EqualTo((long)HypercallStatus.BadAddress));
    }

    [TestCase((ulong)HostFunctionTable.MaxRequestSize + 1)]
    [TestCase(ulong.MaxValue)]
    public void ARequestOverTheLimitIsTooLargeBeforeItsAddressIsLookedAt(ulong length) =>
        Assert.That(HostCall(ulong.MaxValue, length, ResponseAt, 64), Is.EqualTo((long)HypercallStatus.TooLarge));

    [Test]
    public void AHugeCapacityIsClampedToTheHostLimit()
    {
        // The response buffer runs from near the end of RAM: a capacity of 2^63 cannot be RAM, but
        // the host only ever writes MaxResponseSize bytes, and only that much is checked.
        int length = PutRequest(Messages.Request("answer"));
        ulong at = MemorySize - HostFunctionTable.MaxResponseSize;
        Assert.That(HostCall(RequestAt, (ulong)length, at, 1UL << 63), Is.EqualTo(3));
        Assert.That(HostCall(RequestAt, (ulong)length, at + 1, 1UL << 63), Is.EqualTo((long)HypercallStatus.BadAddress));
    }

    [Test]
    public void AResponseOverTheCapacityIsTooLargeAndGuestMemoryIsUntouched()
    {
        int length = PutRequest(Messages.Request("greet", "a name longer than the buffer"));
        Assert.That(_vm.Memory.TryFill(ResponseAt, 64, 0xEE), Is.True);
        Assert.That(HostCall(RequestAt, (ulong)length, ResponseAt, 8), Is.EqualTo((long)HypercallStatus.TooLarge));
        var after = new byte[64];
        _vm.Memory.TryRead(ResponseAt, after);
        Assert.That(after, Is.All.EqualTo(0xEE));
    }

    [Test]
    public void AThrowingFunctionLeavesTheVmRunning()
    {
        int length = PutRequest(Messages.Request("fail"));
        long written = HostCall(RequestAt, (ulong)length, ResponseAt, 64);
        var response = new byte[written];
        _vm.Memory.TryRead(ResponseAt, response);
        Assert.That(Messages.Decode(response).Status, Is.EqualTo((long)HostCallStatus.HostFailure));
        Assert.That(_vm.IsStopping, Is.False);
        Assert.That(_dispatcher.Failures, Is.EqualTo(1));
    }

    [Test]
    public void RequestAndResponseMayOverlapInGuestMemory()
    {
        int length = PutRequest(Messages.Request("greet", "overlap"));
        long written = HostCall(RequestAt, (ulong)length, RequestAt + 2, 64);
        var response = new byte[written];
        _vm.Memory.TryRead(RequestAt + 2, response);
        Assert.That(Messages.Decode(response).Result, Is.EqualTo("hello, overlap"));
    }

    [Test]
    public void ADeniedHostCallDoesNotRun()
    {
        _vm.Hypercalls.Deny(Hypercall.HostCall);
        int length = PutRequest(Messages.Request("answer"));
        Assert.That(HostCall(RequestAt, (ulong)length, ResponseAt, 64), Is.EqualTo((long)HypercallStatus.Denied));
    }
}
