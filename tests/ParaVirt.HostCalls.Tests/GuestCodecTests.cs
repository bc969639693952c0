using System.Buffers;
using GuestStatus = ParaVirt.Guest.HostCallResult;
using HostStatus = ParaVirt.Abi.HostCallStatus;
using MessagePack;
using ParaVirt.Abi;
using ParaVirt.Guest;

namespace ParaVirt.HostCalls.Tests;

/// <summary>
/// The guest SDK's PackWriter and PackReader (compiled here from guest-sdk sources) against
/// MessagePack-CSharp: what the guest writes the host reads, and the other way round.
/// </summary>
public class GuestCodecTests
{
    private static readonly long[] Integers =
    [
        0, 1, 31, 127, 128, 255, 256, 65535, 65536, uint.MaxValue, (long)uint.MaxValue + 1, long.MaxValue,
        -1, -32, -33, -128, -129, -32768, -32769, int.MinValue, (long)int.MinValue - 1, long.MinValue,
    ];

    private static byte[] GuestWrite(int capacity, Action<byte[]>? check, WriteAction write)
    {
        var buffer = new byte[capacity];
        var writer = new PackWriter(buffer);
        write(ref writer);
        Assert.That(writer.Overflowed, Is.False);
        byte[] written = writer.Written.ToArray();
        check?.Invoke(written);
        return written;
    }

    private delegate void WriteAction(ref PackWriter writer);

    [Test]
    public void IntegersTheGuestWritesAreTheValuesTheHostReads()
    {
        foreach (long value in Integers)
        {
            byte[] bytes = GuestWrite(16, null, (ref PackWriter w) => w.WriteInt64(value));
            var reader = new MessagePackReader(bytes);
            Assert.That(reader.ReadInt64(), Is.EqualTo(value));
            Assert.That(bytes, Has.Length.EqualTo(Messages.Encode((ref MessagePackWriter w) => w.Write(value)).Length), $"smallest encoding of {value}");
        }
        byte[] max = GuestWrite(16, null, (ref PackWriter w) => w.WriteUInt64(ulong.MaxValue));
        Assert.That(new MessagePackReader(max).ReadUInt64(), Is.EqualTo(ulong.MaxValue));
    }

    [Test]
    public void IntegersTheHostWritesAreTheValuesTheGuestReads()
    {
        foreach (long value in Integers)
        {
            // Every encoding the host library may choose, including the unsigned forms of positives.
            foreach (byte[] bytes in new[]
                     {
                         Messages.Encode((ref MessagePackWriter w) => w.Write(value)),
                         Messages.Encode((ref MessagePackWriter w) => w.WriteInt64(value)),
                     })
            {
                var reader = new PackReader(bytes);
                Assert.That(reader.TryReadInt64(out long read), Is.True, Convert.ToHexString(bytes));
                Assert.That(read, Is.EqualTo(value));
                Assert.That(reader.End, Is.True);
            }
        }
        var big = new PackReader(Messages.Encode((ref MessagePackWriter w) => w.Write(ulong.MaxValue)));
        Assert.That(big.TryReadInt64(out _), Is.False, "2^64-1 does not fit a long");
        Assert.That(big.TryReadUInt64(out ulong u) && u == ulong.MaxValue, Is.True, "the failed read left the position alone");
        var negative = new PackReader(Messages.Encode((ref MessagePackWriter w) => w.Write(-5L)));
        Assert.That(negative.TryReadUInt64(out _), Is.False);
    }

    [TestCase("")]
    [TestCase("add")]
    [TestCase("a string of exactly 31 bytes...")]
    [TestCase("a string of more than 31 bytes, so it needs the str8 form")]
    [TestCase("gäst ✓ 𝄞 and more")]
    public void StringsRoundTripBothWays(string text)
    {
        byte[] guest = GuestWrite(1024, null, (ref PackWriter w) => w.WriteString(text));
        Assert.That(guest, Is.EqualTo(Messages.Encode((ref MessagePackWriter w) => w.Write(text))), "the same bytes as MessagePack-CSharp");
        var reader = new PackReader(guest);
        Assert.That(reader.TryReadString(out ReadOnlySpan<byte> utf8), Is.True);
        Assert.That(System.Text.Encoding.UTF8.GetString(utf8), Is.EqualTo(text));
    }

    [Test]
    public void LongStringsAndBinariesUseTheWiderForms()
    {
        string text = new('s', 70_000);
        byte[] guest = GuestWrite(80_000, null, (ref PackWriter w) => w.WriteString(text));
        Assert.That(new MessagePackReader(guest).ReadString(), Is.EqualTo(text));
        foreach (int n in new[] { 0, 255, 256, 65535, 65536 })
        {
            byte[] payload = Enumerable.Range(0, n).Select(i => (byte)i).ToArray();
            byte[] bin = GuestWrite(n + 8, null, (ref PackWriter w) => w.WriteBinary(payload));
            Assert.That(new MessagePackReader(bin).ReadBytes()!.Value.ToArray(), Is.EqualTo(payload));
            var reader = new PackReader(Messages.Encode((ref MessagePackWriter w) => w.Write(payload)));
            Assert.That(reader.TryReadBinary(out ReadOnlySpan<byte> read) && read.SequenceEqual(payload), Is.True, $"{n} bytes");
        }
    }

    [Test]
    public void ALoneSurrogateBecomesTheReplacementCharacterAsInDotNet()
    {
        string text = "a\uD800b";
        byte[] guest = GuestWrite(16, null, (ref PackWriter w) => w.WriteString(text));
        Assert.That(guest, Is.EqualTo(Messages.Encode((ref MessagePackWriter w) => w.Write(text))));
    }

    [Test]
    public void ARequestTheGuestBuildsIsOneTheHostServes()
    {
        byte[] request = GuestWrite(64, null, (ref PackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.WriteString("sum3");
            w.WriteArrayHeader(3);
            w.WriteInt64(-1);
            w.WriteUInt64(10);
            w.WriteInt64(100);
        });
        var response = new byte[64];
        long length = TestFunctions.Create().CreateDispatcher().Dispatch(request, response);
        var reader = new PackReader(response.AsSpan(0, (int)length));
        Assert.That(reader.TryReadArrayHeader(out int count) && count == 2, Is.True);
        Assert.That(reader.TryReadInt64(out long status) && status == 0, Is.True);
        Assert.That(reader.TryReadInt64(out long sum) && sum == 109, Is.True);
        Assert.That(reader.End, Is.True);
    }

    [Test]
    public void AValueThatDoesNotFitIsNotWrittenAtAll()
    {
        var buffer = new byte[4];
        var writer = new PackWriter(buffer);
        writer.WriteInt64(1);
        writer.WriteString("too long");
        Assert.That(writer.Overflowed, Is.True);
        Assert.That(writer.Length, Is.EqualTo(1));
        writer.WriteNil();
        Assert.That(writer.Length, Is.EqualTo(1), "writes after an overflow are ignored");
        Assert.That(buffer[1..], Is.All.Zero);
    }

    [Test]
    public void TheReaderRefusesTruncatedValuesWithoutMoving()
    {
        byte[][] values =
        [
            Messages.Encode((ref MessagePackWriter w) => w.Write(long.MinValue)),
            Messages.Encode((ref MessagePackWriter w) => w.Write("a string of more than 31 bytes, so it needs str8")),
            Messages.Encode((ref MessagePackWriter w) => w.Write(new byte[300])),
            Messages.Encode((ref MessagePackWriter w) => w.WriteArrayHeader(70_000)),
        ];
        foreach (byte[] value in values)
        {
            for (int cut = 0; cut < value.Length; cut++)
            {
                var reader = new PackReader(value.AsSpan(0, cut));
                bool any = reader.TryReadInt64(out _) | reader.TryReadString(out _) | reader.TryReadBinary(out _) |
                           reader.TryReadArrayHeader(out _) | reader.TryReadBool(out _) | reader.TryReadNil();
                Assert.That(any, Is.False, $"{Convert.ToHexString(value)} cut to {cut}");
                Assert.That(reader.Position, Is.Zero);
            }
        }
    }

    [Test]
    public void RandomBytesNeverMakeTheReaderReadOutside()
    {
        var random = new Random(99);
        for (int i = 0; i < 50_000; i++)
        {
            var bytes = new byte[random.Next(0, 12)];
            random.NextBytes(bytes);
            var reader = new PackReader(bytes);
            // Every method is bounds-checked before it slices: an out-of-range slice would throw here.
            for (int step = 0; step < 8 && !reader.End; step++)
            {
                if (!(reader.TryReadArrayHeader(out _) || reader.TryReadInt64(out _) || reader.TryReadUInt64(out _) ||
                      reader.TryReadString(out _) || reader.TryReadBinary(out _) || reader.TryReadBool(out _) || reader.TryReadNil()))
                    break;
            }
            Assert.That(reader.Position, Is.InRange(0, bytes.Length));
        }
    }

    [Test]
    public void GuestAndHostAgreeOnEveryResponseStatus()
    {
        foreach (HostStatus status in Enum.GetValues<HostStatus>())
            Assert.That((int)Enum.Parse<GuestStatus>(status.ToString()), Is.EqualTo((int)status), status.ToString());
        Assert.That((int)GuestStatus.TooLarge, Is.EqualTo((int)ParaVirt.Abi.HypercallStatus.TooLarge));
        Assert.That((int)GuestStatus.BadAddress, Is.EqualTo((int)ParaVirt.Abi.HypercallStatus.BadAddress));
        Assert.That((int)GuestStatus.Denied, Is.EqualTo((int)ParaVirt.Abi.HypercallStatus.Denied));
        Assert.That((int)GuestStatus.NotSupported, Is.EqualTo((int)ParaVirt.Abi.HypercallStatus.UnknownHypercall));
        Assert.That((int)GuestStatus.InvalidArgument, Is.EqualTo((int)ParaVirt.Abi.HypercallStatus.InvalidArgument));
    }
}
