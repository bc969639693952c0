using ParaVirt.Abi;
using ParaVirt.HostCalls;

namespace ParaVirt.HostCalls.Tests;

/// <summary>Random and mutated requests: the dispatcher never throws, and every answer is a status or a well-formed response within the capacity.</summary>
public class FuzzTests
{
    private static readonly byte[][] Seeds =
    [
        Messages.Request("add", 2L, 40L),
        Messages.Request("greet", "guest"),
        Messages.Request("reverse", new byte[] { 1, 2, 3, 4 }),
        Messages.Request("sum3", -1L, 10UL, 100),
        Messages.Request("not", true),
        Messages.Request("fail"),
    ];

    private static void AssertWellBehaved(HostCallDispatcher dispatcher, byte[] request, int capacity)
    {
        var buffer = new byte[capacity + 8];
        buffer.AsSpan(capacity).Fill(0xA5);
        long length = 0;
        Assert.DoesNotThrow(() => length = dispatcher.Dispatch(request, buffer.AsSpan(0, capacity)), Convert.ToHexString(request));
        Assert.That(buffer.AsSpan(capacity).ToArray(), Is.All.EqualTo(0xA5), "nothing written past the capacity");
        if (length < 0)
        {
            Assert.That(length, Is.EqualTo((long)HypercallStatus.TooLarge), Convert.ToHexString(request));
            return;
        }
        Assert.That(length, Is.InRange(3, capacity));
        long status = Messages.Decode(buffer.AsSpan(0, (int)length)).Status;
        Assert.That(Enum.IsDefined(typeof(HostCallStatus), (int)status), Is.True, $"status {status} for {Convert.ToHexString(request)}");
    }

    [Test]
    public void RandomBytesNeverThrow()
    {
        var random = new Random(20261126);
        HostCallDispatcher dispatcher = TestFunctions.Create().CreateDispatcher();
        for (int i = 0; i < 20_000; i++)
        {
            var request = new byte[random.Next(0, 64)];
            random.NextBytes(request);
            if (request.Length > 0 && random.Next(2) == 0)
                request[0] = 0x92; // more often past the first check
            AssertWellBehaved(dispatcher, request, random.Next(0, 128));
        }
    }

    [Test]
    public void MutatedValidRequestsNeverThrow()
    {
        var random = new Random(7);
        HostCallDispatcher dispatcher = TestFunctions.Create().CreateDispatcher();
        for (int i = 0; i < 20_000; i++)
        {
            byte[] request = (byte[])Seeds[random.Next(Seeds.Length)].Clone();
            int mutations = random.Next(1, 4);
            for (int m = 0; m < mutations; m++)
            {
                switch (random.Next(3))
                {
                    case 0:
                        request[random.Next(request.Length)] = (byte)random.Next(256);
                        break;
                    case 1:
                        request = request[..random.Next(request.Length)];
                        break;
                    default:
                        request = request.Concat(new[] { (byte)random.Next(256) }).ToArray();
                        break;
                }
                if (request.Length == 0)
                    break;
            }
            AssertWellBehaved(dispatcher, request, random.Next(0, 64));
        }
    }

    [Test]
    public void EveryTruncationOfEveryValidRequestIsMalformed()
    {
        HostCallDispatcher dispatcher = TestFunctions.Create().CreateDispatcher();
        foreach (byte[] seed in Seeds)
        {
            for (int length = 0; length < seed.Length; length++)
            {
                var response = new byte[64];
                long written = dispatcher.Dispatch(seed.AsSpan(0, length), response);
                Assert.That(Messages.Decode(response.AsSpan(0, (int)written)).Status, Is.EqualTo((long)HostCallStatus.MalformedRequest),
                    $"{Convert.ToHexString(seed)} cut to {length} bytes");
            }
        }
    }
}
