using System.Buffers.Binary;
using System.IO;
using System.Linq;

namespace ParaVirt.Image.Tests;

/// <summary>The reader refuses damaged or foreign images with a specific one-line message.</summary>
public class ImageRejectionTests
{
    private byte[] _hello = [];

    [SetUp]
    public void LoadHello() => _hello = File.ReadAllBytes(Guests.HelloImage);

    private static string Reject(byte[] file)
    {
        var ex = Assert.Throws<InvalidImageException>(() => PvImageReader.Read(file, "Hello.pvimg"));
        Assert.That(ex!.Message, Does.Not.Contain("\n"), "one line");
        Assert.That(ex.Message, Does.StartWith("Hello.pvimg: "));
        return ex.Message;
    }

    [TestCase(0)]
    [TestCase(8)]
    [TestCase(63)]
    public void TruncatedInsideTheHeader(int length) =>
        Assert.That(Reject(_hello[..length]), Does.Contain($"truncated: {length} bytes is shorter than the 64-byte header"));

    [TestCase(64)]
    [TestCase(100)]
    [TestCase(0.5)]
    [TestCase(-1)]
    public void TruncatedAfterTheHeader(double at)
    {
        int length = at >= 1 ? (int)at : at < 0 ? _hello.Length - 1 : (int)(_hello.Length * at);
        Assert.That(Reject(_hello[..length]), Does.Contain($"truncated: the header declares {_hello.Length} bytes but only {length} are present"));
    }

    [Test]
    public void TrailingBytes() =>
        Assert.That(Reject([.. _hello, 0]), Does.Contain("1 bytes follow the declared end"));

    [Test]
    public void WrongMagic()
    {
        _hello[0] = (byte)'X';
        Assert.That(Reject(_hello), Does.Contain("not a ParaVirt image: bad magic"));
    }

    [Test]
    public void WrongFormatVersion()
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_hello.AsSpan(PvImageFormat.FormatVersionOffset), 2);
        PvImageFormat.UpdateChecksum(_hello);
        Assert.That(Reject(_hello), Does.Contain("unsupported image format version 2 (this host reads version 1)"));
    }

    [Test]
    public void WrongAbiVersion()
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_hello.AsSpan(PvImageFormat.AbiVersionOffset), (1u << 16) | 1);
        PvImageFormat.UpdateChecksum(_hello);
        Assert.That(Reject(_hello), Does.Contain("built for ABI 1.1, but this host implements ABI 0.2"));
    }

    [TestCase(PvImageFormat.EntryOffset)]
    [TestCase(PvImageFormat.LoadAddressOffset + 2)]
    [TestCase(PvImageFormat.HeaderSize + PvImageFormat.SectionAddressOffset)]
    public void FlippedHeaderByteFailsTheChecksum(int offset)
    {
        _hello[offset] ^= 0x10;
        Assert.That(Reject(_hello), Does.Contain("corrupt: checksum mismatch"));
    }

    [Test]
    public void FlippedCodeByteFailsTheChecksum()
    {
        PvImage image = PvImageReader.Read(_hello);
        int codeOffset = BinaryPrimitives.ReadInt32LittleEndian(_hello.AsSpan(PvImageFormat.HeaderSize + PvImageFormat.SectionFileOffsetOffset));
        Assert.That(image.Sections[0].Name, Is.EqualTo("__managedcode"));
        _hello[codeOffset + 17] ^= 0xFF;
        Assert.That(Reject(_hello), Does.Contain("corrupt: checksum mismatch"));
    }

    [Test]
    public void EntryOutsideTheImage()
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_hello.AsSpan(PvImageFormat.EntryOffset), 0x100000);
        PvImageFormat.UpdateChecksum(_hello);
        Assert.That(Reject(_hello), Does.Contain("entry point 0x100000 is not inside an executable section"));
    }

    [Test]
    public void EntryInDataIsRejected()
    {
        PvImage image = PvImageReader.Read(_hello);
        ulong data = image.Sections.Single(s => s.Name == ".data").Address;
        BinaryPrimitives.WriteUInt64LittleEndian(_hello.AsSpan(PvImageFormat.EntryOffset), data);
        PvImageFormat.UpdateChecksum(_hello);
        Assert.That(Reject(_hello), Does.Contain($"entry point 0x{data:x} is not inside an executable section"));
    }

    [Test]
    public void SectionOutsideTheImage()
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_hello.AsSpan(PvImageFormat.HeaderSize + PvImageFormat.SectionAddressOffset), 0x900000);
        PvImageFormat.UpdateChecksum(_hello);
        Assert.That(Reject(_hello), Does.Contain("section __managedcode at 0x900000+").And.Contain("lies outside the image [0x200000,"));
    }

    [Test]
    public void EmptySectionOutsideTheImage()
    {
        // Found by fuzzing (fuzz/crashes/pvimg/empty-section-outside-image): a zero-size section
        // far past the image's end was accepted.
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(_hello.AsSpan(PvImageFormat.SectionCountOffset));
        Span<byte> last = _hello.AsSpan(PvImageFormat.HeaderSize + (count - 1) * PvImageFormat.SectionEntrySize, PvImageFormat.SectionEntrySize);
        BinaryPrimitives.WriteUInt64LittleEndian(last[PvImageFormat.SectionAddressOffset..], 0x20_0000_0020_3000);
        BinaryPrimitives.WriteUInt64LittleEndian(last[PvImageFormat.SectionMemorySizeOffset..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(last[PvImageFormat.SectionFileSizeOffset..], 0);
        PvImageFormat.UpdateChecksum(_hello);
        Assert.That(Reject(_hello), Does.Contain("at 0x20000000203000+0x0 lies outside the image [0x200000,"));
    }

    [Test]
    public void SectionDataOutsideTheFile()
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_hello.AsSpan(PvImageFormat.HeaderSize + PvImageFormat.SectionFileOffsetOffset), (uint)_hello.Length);
        PvImageFormat.UpdateChecksum(_hello);
        Assert.That(Reject(_hello), Does.Contain("section __managedcode: its data at file offset").And.Contain("lies outside the file"));
    }

    [Test]
    public void UnalignedLoadAddress()
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_hello.AsSpan(PvImageFormat.LoadAddressOffset), 0x200010);
        PvImageFormat.UpdateChecksum(_hello);
        Assert.That(Reject(_hello), Does.Contain("load address 0x200010 is not page aligned"));
    }
}
