using System.IO;
using System.Linq;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;
using ParaVirt.Tests.Shared;

namespace ParaVirt.Image.Tests;

/// <summary>
/// The debug ELF beside each image (Hello.pvimg.elf): DWARF from ilc -g, relocated to the image's
/// addresses, read back by ELFSharp and by real gdb; and the image itself carries none of it.
/// </summary>
public class DebugElfTests
{
    [Test]
    public void TheObjectHasDwarfButTheImageCarriesNone()
    {
        using IELF obj = ELFReader.Load(Guests.HelloObject);
        Assert.That(obj.Sections.Select(s => s.Name), Does.Contain(".debug_line").And.Contain(".debug_info"), "the guest build runs ilc with -g");
        LinkResult result = ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions());
        foreach (PvSection s in result.Image.Sections)
        {
            Assert.That(s.Name, Does.Not.StartWith(".debug"));
            if (s.Name is ".pvstubs" or ".pvdata")
                continue;
            ISection source = obj.Sections.Single(x => x.Name == s.Name);
            Assert.That(source.Flags & SectionFlags.Allocatable, Is.EqualTo(SectionFlags.Allocatable), s.Name);
            Assert.That((ulong)s.Data.Length, Is.EqualTo(source.Type == SectionType.NoBits ? 0 : ((Section<ulong>)source).Size), s.Name);
        }
        Assert.That(result.Debug!.Sections.Select(d => d.Name), Does.Contain(".debug_line").And.Contain(".debug_info").And.Contain(".debug_abbrev").And.Contain(".debug_str"));
        Assert.That(new FileInfo(Guests.HelloImage).Length, Is.EqualTo(PvImageWriter.Write(result.Image).Length), "the built image is the linked image, nothing more");
    }

    [Test]
    public void SymbolsAndSectionsSitAtTheImageAddresses()
    {
        LinkResult result = ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions());
        using IELF elf = ELFReader.Load(Guests.HelloDebugElf);
        Assert.That(elf.Type, Is.EqualTo(FileType.Executable));
        Assert.That(((ELF<ulong>)elf).EntryPoint, Is.EqualTo(result.Image.Entry));
        foreach (PvSection s in result.Image.Sections)
        {
            var section = (Section<ulong>)elf.Sections.Single(x => x.Name == s.Name);
            Assert.That(section.LoadAddress, Is.EqualTo(s.Address), s.Name);
            if (s.Data.Length > 0)
                Assert.That(section.GetContents().Take(s.Data.Length), Is.EqualTo(s.Data), s.Name);
        }
        var symtab = (ISymbolTable)elf.Sections.Single(x => x.Type == SectionType.SymbolTable);
        var main = symtab.Entries.Cast<SymbolEntry<ulong>>().Single(e => e.Name == "Hello_Hello_Kernel__Main");
        Assert.That(main.Value, Is.EqualTo(result.Symbols["Hello_Hello_Kernel__Main"]));
        Assert.That(main.Type, Is.EqualTo(SymbolType.Function));
        Assert.That(main.Size, Is.GreaterThan(0UL));
    }

    /// <summary>
    /// The line table is relocated: before relocation its addresses start at 0 (section offsets),
    /// so gdb would place Kernel.cs nowhere near Main.
    /// </summary>
    [Test]
    public void GdbMapsMainToKernelCs()
    {
        GdbBatch.RequireGdb();
        LinkResult result = ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions());
        ulong main = result.Symbols["Hello_Hello_Kernel__Main"];
        string output = GdbBatch.Run(Guests.HelloDebugElf, 60_000, $"info line *0x{main + 16:x}", $"info symbol 0x{main + 16:x}", "info line Crc32.cs:1");
        Assert.That(output, Does.Match(@"Line \d+ of "".*samples/Hello/Kernel\.cs"" starts at address 0x[0-9a-f]+ <Hello_Hello_Kernel__Main\+\d+>"));
        Assert.That(output, Does.Contain("Hello_Hello_Kernel__Main + 16 in section __managedcode"));
    }
}
