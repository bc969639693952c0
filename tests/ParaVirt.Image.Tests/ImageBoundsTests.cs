using System.Buffers.Binary;

namespace ParaVirt.Image.Tests;

/// <summary>
/// The reader's work is bounded by its input: sections may not share file bytes, and no image may
/// declare more memory than <see cref="PvImageFormat.MaxMemorySize"/>.
/// </summary>
public class ImageBoundsTests
{
    private const ulong Load = 0x200000;
    private const int SectionData = 1 << 20;

    /// <summary>An image of <paramref name="count"/> sections of <see cref="SectionData"/> distinct bytes each, the first executable.</summary>
    private static byte[] Image(int count)
    {
        var sections = new List<PvSection>();
        for (int i = 0; i < count; i++)
        {
            var data = new byte[SectionData];
            data[0] = 0xC3; // ret
            SectionPermissions permissions = i == 0 ? SectionPermissions.Read | SectionPermissions.Execute : SectionPermissions.Read;
            sections.Add(new PvSection($"s{i}", Load + (ulong)i * SectionData, SectionData, permissions, data));
        }
        return PvImageWriter.Write(new PvImage(ParaVirt.Abi.AbiVersion.Current, Load, Load, (ulong)count * SectionData, sections));
    }

    private static Span<byte> Entry(byte[] file, int section) =>
        file.AsSpan(PvImageFormat.HeaderSize + section * PvImageFormat.SectionEntrySize, PvImageFormat.SectionEntrySize);

    private static InvalidImageException Reject(byte[] file) => Assert.Throws<InvalidImageException>(() => PvImageReader.Read(file, "x.pvimg"))!;

    /// <summary>Bytes the current thread allocates while reading <paramref name="file"/> (whether it is accepted or not).</summary>
    private static long AllocatedByRead(byte[] file)
    {
        long best = long.MaxValue;
        for (int run = 0; run < 3; run++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                PvImageReader.Read(file, "x.pvimg");
            }
            catch (InvalidImageException)
            {
            }
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return best;
    }

    [Test]
    public void AValidImageIsReadWithAllocationsBoundedByItsSize()
    {
        byte[] file = Image(4);
        Assert.That(PvImageReader.Read(file).Sections, Has.Count.EqualTo(4));
        Assert.That(AllocatedByRead(file), Is.LessThan(2L * file.Length + 64 * 1024));
    }

    [Test]
    public void SectionsSharingFileBytesAreRejected()
    {
        byte[] file = Image(2);
        uint first = BinaryPrimitives.ReadUInt32LittleEndian(Entry(file, 0)[PvImageFormat.SectionFileOffsetOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(Entry(file, 1)[PvImageFormat.SectionFileOffsetOffset..], first + 16);
        PvImageFormat.UpdateChecksum(file);
        Assert.That(Reject(file).Message, Is.EqualTo($"x.pvimg: section s1: its data at file offset {first + 16}+{SectionData} overlaps the data of section s0"));
    }

    [Test]
    public void AliasedSectionsCannotMultiplyTheAllocation()
    {
        // 64 sections, each naming the same 1 MiB of the file: without the overlap check the reader
        // copied 64 MiB out of a 1 MiB file.
        byte[] distinct = Image(PvImageFormat.MaxSections);
        uint first = BinaryPrimitives.ReadUInt32LittleEndian(Entry(distinct, 0)[PvImageFormat.SectionFileOffsetOffset..]);
        int end = (int)first + SectionData;
        byte[] file = distinct[..end];
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(PvImageFormat.FileSizeOffset), (ulong)file.Length);
        for (int i = 1; i < PvImageFormat.MaxSections; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(Entry(file, i)[PvImageFormat.SectionFileOffsetOffset..], first);
        PvImageFormat.UpdateChecksum(file);

        Assert.That(Reject(file).Message, Does.Contain("section s1: its data at file offset").And.Contain("overlaps the data of section s0"));
        Assert.That(AllocatedByRead(file), Is.LessThan(2L * file.Length + 64 * 1024));
    }

    [Test]
    public void AMemorySizePastTheMaximumIsRejectedBeforeAnyLargeAllocation()
    {
        // One bss-like section spanning 2 GiB: declared memory far beyond what the file holds.
        var text = new PvSection("text", Load, 4096, SectionPermissions.Read | SectionPermissions.Execute, [0xC3]);
        var bss = new PvSection(".bss", Load + 4096, (2UL << 30) - 4096, SectionPermissions.Read | SectionPermissions.Write, []);
        byte[] file = PvImageWriter.Write(new PvImage(ParaVirt.Abi.AbiVersion.Current, Load, Load, 2UL << 30, [text, bss]));
        Assert.That(Reject(file).Message, Is.EqualTo("x.pvimg: memory size 0x80000000 exceeds the format's maximum of 0x40000000 bytes"));
        Assert.That(AllocatedByRead(file), Is.LessThan(2L * file.Length + 64 * 1024));
    }

    [Test]
    public void TheMaximumItselfIsAccepted()
    {
        var text = new PvSection("text", Load, 4096, SectionPermissions.Read | SectionPermissions.Execute, [0xC3]);
        var bss = new PvSection(".bss", Load + 4096, PvImageFormat.MaxMemorySize - 4096, SectionPermissions.Read | SectionPermissions.Write, []);
        byte[] file = PvImageWriter.Write(new PvImage(ParaVirt.Abi.AbiVersion.Current, Load, Load, PvImageFormat.MaxMemorySize, [text, bss]));
        PvImage image = PvImageReader.Read(file);
        Assert.That(image.MemorySize, Is.EqualTo(PvImageFormat.MaxMemorySize));
        Assert.That(AllocatedByRead(file), Is.LessThan(2L * file.Length + 64 * 1024), "bss costs no allocation");
    }

    [TestCase(0.25)]
    [TestCase(0.5)]
    [TestCase(0.99)]
    public void TruncatedOrCorruptAliasingImagesAreRejectedCleanly(double at)
    {
        // Every prefix and a flipped byte of a hostile image give InvalidImageException, nothing else.
        byte[] file = Image(3);
        BinaryPrimitives.WriteUInt32LittleEndian(Entry(file, 2)[PvImageFormat.SectionFileOffsetOffset..],
            BinaryPrimitives.ReadUInt32LittleEndian(Entry(file, 1)[PvImageFormat.SectionFileOffsetOffset..]));
        PvImageFormat.UpdateChecksum(file);
        int cut = (int)(file.Length * at);
        Assert.That(Reject(file[..cut]).Message, Does.Contain("truncated"));
        byte[] flipped = (byte[])file.Clone();
        flipped[cut] ^= 0x40;
        Assert.That(Reject(flipped).Message, Does.Contain("checksum mismatch"));
        Assert.That(Reject(file).Message, Does.Contain("section s2: its data at file offset").And.Contain("overlaps the data of section s1"));
    }
}
