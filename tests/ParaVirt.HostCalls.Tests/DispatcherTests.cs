using ParaVirt.Abi;
using ParaVirt.HostCalls;
using static ParaVirt.HostCalls.Tests.Messages;

namespace ParaVirt.HostCalls.Tests;

/// <summary>HostCallDispatcher on plain buffers: every supported type, every error status.</summary>
public class DispatcherTests
{
    private HostCallDispatcher _dispatcher = null!;

    [SetUp]
    public void CreateDispatcher() => _dispatcher = TestFunctions.Create().CreateDispatcher();

    private Response Call(byte[] request, int capacity = 1024)
    {
        var response = new byte[capacity];
        long length = _dispatcher.Dispatch(request, response);
        Assert.That(length, Is.InRange(3, capacity), $"a response, not status {length}");
        return Decode(response.AsSpan(0, (int)length));
    }

    [Test]
    public void IntegersAddUp() =>
        Assert.That(Call(Request("add", 2L, 40L)), Is.EqualTo(new Response(0, 42L)));

    [TestCase(long.MinValue, 0L)]
    [TestCase(long.MaxValue, -1L)]
    [TestCase(-200_000L, 70_000L)]
    public void EveryIntegerEncodingIsAccepted(long a, long b) =>
        Assert.That(Call(Request("add", a, b)), Is.EqualTo(new Response(0, a + b)));

    [Test]
    public void EachSupportedTypeRoundTrips()
    {
        Assert.That(Call(Request("answer")), Is.EqualTo(new Response(0, 42L)));
        Assert.That(Call(Request("greet", "guest")), Is.EqualTo(new Response(0, "hello, guest")));
        Assert.That(Call(Request("greet", "gäst ✓ 𝄞")).Result, Is.EqualTo("hello, gäst ✓ 𝄞"));
        Assert.That(Call(Request("not", true)), Is.EqualTo(new Response(0, false)));
        Assert.That(Call(Request("half", ulong.MaxValue)).Result, Is.EqualTo((long)(ulong.MaxValue / 2)));
        Assert.That(Call(Request("negate", 5)), Is.EqualTo(new Response(0, -5L)));
        Assert.That(Call(Request("reverse", new byte[] { 1, 2, 3 })).Result, Is.EqualTo(new byte[] { 3, 2, 1 }));
        Assert.That(Call(Request("nothing")), Is.EqualTo(new Response(0, null)));
        Assert.That(Call(Request("sum3", -1L, 10UL, 100)), Is.EqualTo(new Response(0, 109L)));
        Assert.That(Call(Request("repeat", "ab", 3)), Is.EqualTo(new Response(0, "ababab")));
    }

    [Test]
    public void AnUnknownFunctionIsAStatusInTheResponse()
    {
        Assert.That(Call(Request("missing")), Is.EqualTo(new Response((long)HostCallStatus.UnknownFunction, null)));
        Assert.That(Call(Request("ADD", 1L, 2L)).Status, Is.EqualTo((long)HostCallStatus.UnknownFunction), "names are case-sensitive");
        Assert.That(Call(Request(new string('x', 300))).Status, Is.EqualTo((long)HostCallStatus.UnknownFunction));
        Assert.That(Call(Request("")).Status, Is.EqualTo((long)HostCallStatus.UnknownFunction));
    }

    [Test]
    public void AWrongArgumentCountIsRefused()
    {
        Assert.That(Call(Request("add", 1L)), Is.EqualTo(new Response((long)HostCallStatus.WrongArgumentCount, null)));
        Assert.That(Call(Request("add", 1L, 2L, 3L)).Status, Is.EqualTo((long)HostCallStatus.WrongArgumentCount));
        Assert.That(Call(Request("answer", 1L)).Status, Is.EqualTo((long)HostCallStatus.WrongArgumentCount));
    }

    [TestCase("add", "two")]
    [TestCase("add", null)]
    [TestCase("add", true)]
    [TestCase("add", 2.5)]
    [TestCase("greet", 7L)]
    [TestCase("greet", null)]
    [TestCase("not", 1L)]
    [TestCase("reverse", "not bytes")]
    public void AWrongArgumentTypeIsRefused(string function, object? argument)
    {
        byte[] request = function == "add" ? Request(function, 1L, argument) : Request(function, argument);
        Assert.That(Call(request), Is.EqualTo(new Response((long)HostCallStatus.WrongArgumentType, null)));
    }

    [Test]
    public void AnIntegerThatDoesNotFitItsParameterIsAWrongType()
    {
        Assert.That(Call(Request("negate", 1L << 40)).Status, Is.EqualTo((long)HostCallStatus.WrongArgumentType));
        Assert.That(Call(Request("half", -1L)).Status, Is.EqualTo((long)HostCallStatus.WrongArgumentType));
        Assert.That(Call(Request("add", ulong.MaxValue, 1L)).Status, Is.EqualTo((long)HostCallStatus.WrongArgumentType));
    }

    [Test]
    public void AFunctionThatThrowsIsAHostFailureAndTheDispatcherGoesOn()
    {
        var table = TestFunctions.Create();
        var observed = new List<string>();
        table.FunctionFailed = (name, ex) => observed.Add($"{name}: {ex.Message}");
        _dispatcher = table.CreateDispatcher();

        Assert.That(Call(Request("fail")), Is.EqualTo(new Response((long)HostCallStatus.HostFailure, null)));
        Assert.That(_dispatcher.Failures, Is.EqualTo(1));
        Assert.That(_dispatcher.LastFailure, Is.InstanceOf<InvalidOperationException>());
        Assert.That(observed, Is.EqualTo(new[] { "fail: the host function failed on purpose" }));
        Assert.That(Call(Request("add", 1L, 1L)), Is.EqualTo(new Response(0, 2L)), "the next call works");
    }

    [Test]
    public void AnObserverThatThrowsDoesNotReachTheGuest()
    {
        var table = TestFunctions.Create();
        table.FunctionFailed = (_, _) => throw new InvalidOperationException("observer bug");
        _dispatcher = table.CreateDispatcher();
        Assert.That(Call(Request("fail")).Status, Is.EqualTo((long)HostCallStatus.HostFailure));
    }

    private static IEnumerable<TestCaseData> MalformedRequests()
    {
        yield return new TestCaseData(Array.Empty<byte>()).SetName("empty");
        yield return new TestCaseData(new byte[] { 0xC0 }).SetName("nil");
        yield return new TestCaseData(new byte[] { 0xC1 }).SetName("the never-used code");
        yield return new TestCaseData(Encode((ref MessagePack.MessagePackWriter w) => w.Write("add"))).SetName("a bare string");
        yield return new TestCaseData(Encode((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(1); w.Write("answer"); })).SetName("no argument array");
        yield return new TestCaseData(Encode((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write("answer"); w.WriteArrayHeader(0); w.WriteNil(); })).SetName("three elements");
        yield return new TestCaseData(Encode((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(5); w.WriteArrayHeader(0); })).SetName("a number as the name");
        yield return new TestCaseData(Encode((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write("answer"); w.Write(0); })).SetName("arguments not an array");
        yield return new TestCaseData(Encode((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write("answer"); w.WriteMapHeader(0); })).SetName("arguments a map");
        yield return new TestCaseData(Encode((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(2); w.WriteString(new byte[] { 0x61, 0xFF, 0x62 }); w.WriteArrayHeader(0); })).SetName("a name that is not UTF-8");
        yield return new TestCaseData(Encode((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write("greet"); w.WriteArrayHeader(1); w.WriteString(new byte[] { 0xC3, 0x28 }); })).SetName("a string argument that is not UTF-8");
        yield return new TestCaseData(Request("answer").Concat(new byte[] { 0xC0 }).ToArray()).SetName("a byte after the request");
        yield return new TestCaseData(Request("add", 1L, 2L)[..^1]).SetName("truncated in the arguments");
        yield return new TestCaseData(Request("greet", "guest")[..^2]).SetName("truncated in a string");
        yield return new TestCaseData(Request("add", 1L, 2L)[..3]).SetName("truncated in the name");
        yield return new TestCaseData(new byte[] { 0x92, 0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0x61 }).SetName("a name length past the end");
        yield return new TestCaseData(new byte[] { 0x92, 0xA3, 0x61, 0x64, 0x64, 0xDD, 0xFF, 0xFF, 0xFF, 0xFF }).SetName("an argument count past int.MaxValue");
        yield return new TestCaseData(new byte[] { 0x92, 0xA3, 0x61, 0x64, 0x64, 0xDC, 0x00, 0x02, 0x01 }).SetName("an argument count the request cannot hold");
        yield return new TestCaseData(new byte[] { 0x92, 0xA5, 0x67, 0x72, 0x65, 0x65, 0x74, 0x91, 0xDB, 0x7F, 0xFF, 0xFF, 0xFF }).SetName("a string length past the end");
        yield return new TestCaseData(new byte[] { 0x92, 0xA7, 0x72, 0x65, 0x76, 0x65, 0x72, 0x73, 0x65, 0x91, 0xC6, 0xFF, 0xFF, 0xFF, 0xFF }).SetName("a binary length past the end");
        yield return new TestCaseData(Enumerable.Repeat((byte)0x91, 60_000).ToArray()).SetName("arrays nested 60000 deep");
    }

    [TestCaseSource(nameof(MalformedRequests))]
    public void AMalformedRequestIsAStatusInTheResponse(byte[] request)
    {
        Response response = Call(request);
        Assert.That(response.Status, Is.EqualTo((long)HostCallStatus.MalformedRequest));
        Assert.That(response.Result, Is.Null);
    }

    [Test]
    public void TheFunctionDoesNotRunForARequestWithTrailingBytes()
    {
        var calls = new List<string>();
        _dispatcher = TestFunctions.Create(calls).CreateDispatcher();
        Assert.That(Call(Request("add", 1L, 2L).Concat(new byte[] { 0x01 }).ToArray()).Status, Is.EqualTo((long)HostCallStatus.MalformedRequest));
        Assert.That(calls, Is.Empty);
    }

    [Test]
    public void ARequestOverTheLimitIsTooLarge()
    {
        byte[] request = Request("greet", new string('a', HostFunctionTable.MaxRequestSize));
        var response = new byte[64];
        Assert.That(_dispatcher.Dispatch(request, response), Is.EqualTo((long)HypercallStatus.TooLarge));
    }

    [Test]
    public void ARequestJustUnderTheLimitIsServed()
    {
        string name = new('b', HostFunctionTable.MaxRequestSize - 16);
        byte[] request = Request("greet", name);
        Assert.That(request, Has.Length.LessThanOrEqualTo(HostFunctionTable.MaxRequestSize));
        Assert.That(Call(request, HostFunctionTable.MaxResponseSize).Result, Is.EqualTo("hello, " + name));
    }

    [Test]
    public void AResponseLargerThanTheCapacityIsTooLargeAndNothingIsWritten()
    {
        byte[] request = Request("greet", "a fairly long name for a small buffer");
        var response = Enumerable.Repeat((byte)0xEE, 32).ToArray();
        Assert.That(_dispatcher.Dispatch(request, response.AsSpan(0, 16)), Is.EqualTo((long)HypercallStatus.TooLarge));
        Assert.That(response, Is.All.EqualTo(0xEE), "not a byte written, inside the capacity or past it");
    }

    [Test]
    public void AResponseLargerThanTheHostLimitIsTooLargeWhateverTheCapacity()
    {
        byte[] request = Request("repeat", "0123456789abcdef", 4097); // 65552 bytes of string
        var response = new byte[1 << 20];
        Assert.That(_dispatcher.Dispatch(request, response), Is.EqualTo((long)HypercallStatus.TooLarge));
    }

    [Test]
    public void AResponseThatFitsExactlyIsWritten()
    {
        byte[] request = Request("greet", "x");
        int needed = (int)_dispatcher.Dispatch(request, new byte[64]);
        var response = new byte[needed + 1];
        response[needed] = 0x5A;
        Assert.That(_dispatcher.Dispatch(request, response.AsSpan(0, needed)), Is.EqualTo(needed));
        Assert.That(Decode(response.AsSpan(0, needed)).Result, Is.EqualTo("hello, x"));
        Assert.That(response[needed], Is.EqualTo(0x5A));
        Assert.That(_dispatcher.Dispatch(request, response.AsSpan(0, needed - 1)), Is.EqualTo((long)HypercallStatus.TooLarge));
    }

    [Test]
    public void AnErrorResponseNeedsThreeBytes()
    {
        Assert.That(_dispatcher.Dispatch(Request("missing"), new byte[3]), Is.EqualTo(3));
        Assert.That(_dispatcher.Dispatch(Request("missing"), new byte[2]), Is.EqualTo((long)HypercallStatus.TooLarge));
        Assert.That(_dispatcher.Dispatch(Request("missing"), Span<byte>.Empty), Is.EqualTo((long)HypercallStatus.TooLarge));
    }

    [Test]
    public void RequestAndResponseMayShareABuffer()
    {
        byte[] request = Request("greet", "shared");
        var buffer = new byte[64];
        request.CopyTo(buffer, 0);
        long length = _dispatcher.Dispatch(buffer.AsSpan(0, request.Length), buffer);
        Assert.That(Decode(buffer.AsSpan(0, (int)length)).Result, Is.EqualTo("hello, shared"));
    }
}
