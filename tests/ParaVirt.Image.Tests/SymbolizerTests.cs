using System.IO;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;

namespace ParaVirt.Image.Tests;

/// <summary>The host-side symbolizer on Hello's debug ELF, and its parsers on hostile bytes.</summary>
public class SymbolizerTests
{
    private static readonly ulong Main = ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions()).Symbols["Hello_Hello_Kernel__Main"];

    [Test]
    public void DescribesAnAddressWithMethodFileAndLine()
    {
        ImageSymbols symbols = ImageSymbols.TryLoad(Guests.HelloDebugElf)!;
        Assert.That(symbols, Is.Not.Null);
        string text = symbols.Describe(Main + 16);
        Assert.That(text, Does.Match(@"^Hello_Hello_Kernel::Main\+0x10 \(.*samples/Hello/Kernel\.cs:\d+\)$"));
        Assert.That(symbols.IsCode(Main), Is.True);
        Assert.That(symbols.IsCode(0x1000), Is.False);
        Assert.That(ImageSymbols.TryLoad(Guests.HelloImage), Is.Null, "a .pvimg is not an ELF file");
        Assert.That(ImageSymbols.TryLoad("no-such-file.elf"), Is.Null);
    }

    [Test]
    public void CallFrameInformationDescribesTheEntryAndTheBodyOfMain()
    {
        ImageSymbols symbols = ImageSymbols.TryLoad(Guests.HelloDebugElf)!;
        Assert.That(symbols.Frames, Is.Not.Null);
        Assert.That(symbols.Frames!.TryFind(Main, out CallFrameRule atEntry), Is.True);
        Assert.That(atEntry, Is.EqualTo(new CallFrameRule(7, 8, -8, null)), "at the first instruction: CFA = RSP + 8, return address at CFA - 8");
        Assert.That(symbols.Frames.TryFind(Main + 16, out CallFrameRule inBody), Is.True);
        Assert.That(inBody.CfaRegister, Is.EqualTo(7));
        Assert.That(inBody.CfaOffset, Is.GreaterThan(8), "after the pushes");
        Assert.That(inBody.RbpOffset, Is.EqualTo(-16), "push rbp is the first push");
        Assert.That(symbols.Frames.TryFind(0x1000, out _), Is.False);
    }

    [Test]
    public void ParsersSurviveTruncatedAndCorruptSections()
    {
        using IELF elf = ELFReader.Load(Guests.HelloDebugElf);
        byte[] line = elf.Sections.Single(s => s.Name == ".debug_line").GetContents();
        byte[] frame = elf.Sections.Single(s => s.Name == ".eh_frame").GetContents();
        var random = new Random(12);
        for (int i = 0; i < 2000; i++)
        {
            byte[] l = Mutate(line, random);
            byte[] f = Mutate(frame, random);
            Assert.DoesNotThrow(() =>
            {
                DwarfLineTable table = DwarfLineTable.Parse(l);
                _ = table.TryFind(Main + (ulong)random.Next(0x1000), out _, out _);
                CallFrameTable frames = CallFrameTable.Parse(f, 0x2010f0);
                _ = frames.TryFind(Main + (ulong)random.Next(0x1000), out _);
            }, $"iteration {i}");
        }
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        byte[] copy = original[..random.Next(original.Length + 1)];
        for (int j = random.Next(8); j > 0 && copy.Length > 0; j--)
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        return copy;
    }
}
