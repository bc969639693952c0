using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text;
using Iced.Intel;

namespace ParaVirt.Image.Tests;

/// <summary>The C# linker on ilc's real object (Hello.o) and the relocation arithmetic on its own.</summary>
public class LinkerTests
{
    [Test]
    public void Pc32WritesTheDistanceFromThePlace()
    {
        var code = new byte[8];
        Relocator.Apply(code, 0x200000, 1, Relocator.Pc32, 0x200100, -4, "f", "test");
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(code.AsSpan(1)), Is.EqualTo(0x100 - 4 - 1));
    }

    [Test]
    public void Plt32IsPc32WhenLinkingStatically()
    {
        var a = new byte[8];
        var b = new byte[8];
        Relocator.Apply(a, 0x200000, 3, Relocator.Pc32, 0x1F0000, -4, "f", "test");
        Relocator.Apply(b, 0x200000, 3, Relocator.Plt32, 0x1F0000, -4, "f", "test");
        Assert.That(b, Is.EqualTo(a));
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(a.AsSpan(3)), Is.EqualTo(0x1F0000 - 4 - 0x200003));
    }

    [Test]
    public void Absolute64WritesSymbolPlusAddend()
    {
        var data = new byte[16];
        Relocator.Apply(data, 0x200000, 8, Relocator.Absolute64, 0x201000, 0x18, "s", "test");
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(8)), Is.EqualTo(0x201018UL));
    }

    [Test]
    public void Pc32OutOfRangeIsAnError()
    {
        var ex = Assert.Throws<ImageBuildException>(() => Relocator.Apply(new byte[4], 0x200000, 0, Relocator.Pc32, 0x2_0000_0000, 0, "far", "text+0x0"));
        Assert.That(ex!.Message, Does.Contain("far is").And.Contain("too far for a 32-bit PC-relative relocation"));
    }

    [Test]
    public void UnsupportedTypeIsAnError()
    {
        var ex = Assert.Throws<ImageBuildException>(() => Relocator.Apply(new byte[8], 0x200000, 0, 42, 0, 0, "x", "text+0x0"));
        Assert.That(ex!.Message, Does.Contain("unsupported relocation type 42 against x"));
    }

    [Test]
    public void RelocationPastTheSectionIsAnError()
    {
        var ex = Assert.Throws<ImageBuildException>(() => Relocator.Apply(new byte[8], 0x200000, 6, Relocator.Absolute64, 0, 0, "x", "data+0x6"));
        Assert.That(ex!.Message, Does.Contain("lies outside its section"));
    }

    /// <summary>
    /// Linking the same object at two addresses: every byte of a section is the same except the
    /// 64-bit absolute slots, which move by exactly the distance; PC-relative code is unchanged.
    /// </summary>
    [Test]
    public void RelinkingElsewhereMovesOnlyAbsoluteAddresses()
    {
        const ulong delta = 0x200000;
        LinkResult low = ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions { LoadAddress = 0x200000 });
        LinkResult high = ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions { LoadAddress = 0x200000 + delta });

        Assert.That(high.Image.Entry, Is.EqualTo(low.Image.Entry + delta));
        Assert.That(high.Image.Sections.Select(s => s.Name), Is.EqualTo(low.Image.Sections.Select(s => s.Name)));
        PvSection lowCode = low.Image.Sections.Single(s => s.Name == "__managedcode");
        PvSection highCode = high.Image.Sections.Single(s => s.Name == "__managedcode");
        Assert.That(highCode.Data, Is.EqualTo(lowCode.Data), "code uses only PC-relative references");

        PvSection lowData = low.Image.Sections.Single(s => s.Name == ".data");
        PvSection highData = high.Image.Sections.Single(s => s.Name == ".data");
        int moved = 0;
        for (int i = 0; i + 8 <= lowData.Data.Length; i += 8)
        {
            ulong a = BinaryPrimitives.ReadUInt64LittleEndian(lowData.Data.AsSpan(i));
            ulong b = BinaryPrimitives.ReadUInt64LittleEndian(highData.Data.AsSpan(i));
            if (a == b)
                continue;
            Assert.That(b - a, Is.EqualTo(delta), $".data+{i}");
            Assert.That(low.Image.Sections.Any(s => s.Contains(a) || s.End == a), Is.True, $".data+{i} points into the image");
            moved++;
        }
        Assert.That(moved, Is.GreaterThan(10), "method tables and string literals hold absolute pointers");
    }

    [Test]
    public void CallsInTheCodeLandOnSymbols()
    {
        LinkResult result = ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions());
        PvSection code = result.Image.Sections.Single(s => s.Name == "__managedcode");
        var starts = result.Symbols.Values.ToHashSet();
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code.Data), code.Address);
        int calls = 0;
        while (decoder.IP < code.Address + (ulong)code.Data.Length)
        {
            Instruction instruction = decoder.Decode();
            if (instruction.Mnemonic == Mnemonic.Call && instruction.Op0Kind == OpKind.NearBranch64)
            {
                Assert.That(starts, Does.Contain(instruction.NearBranchTarget), $"call at 0x{instruction.IP:x}");
                calls++;
            }
        }
        Assert.That(calls, Is.GreaterThan(10));
    }

    [Test]
    public void UndefinedRuntimeSymbolNamesTheMissingFeature()
    {
        byte[] elf = RenameSymbol(File.ReadAllBytes(Guests.HelloObject), "__security_cookie", "RhBox");
        var ex = Assert.Throws<ImageBuildException>(() => ElfLinker.Link(elf, new LinkOptions(), "Hello.o"));
        Assert.That(ex!.Message, Is.EqualTo("Hello.o: undefined symbol RhBox (needed for boxing a value type (object o = 42), which a ParaVirt guest does not support)"));
    }

    [Test]
    public void InstructionStubSymbolsAreSynthesised()
    {
        byte[] elf = RenameSymbol(File.ReadAllBytes(Guests.HelloObject), "__security_cookie", "__pv_insn_hlt");
        LinkResult result = ElfLinker.Link(elf, new LinkOptions(), "Hello.o");
        PvSection stubs = result.Image.Sections.Single(s => s.Name == ".pvstubs");
        Assert.That(stubs.Permissions, Is.EqualTo(SectionPermissions.Read | SectionPermissions.Execute));
        Assert.That(result.Symbols["__pv_insn_hlt"], Is.EqualTo(stubs.Address));
        Assert.That(stubs.Data, Is.EqualTo(new byte[] { 0xF4, 0xC3 }), "hlt; ret");
    }

    [Test]
    public void MissingEntrySymbolIsAnError()
    {
        var ex = Assert.Throws<ImageBuildException>(() => ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions { EntrySymbol = "kernel_start" }));
        Assert.That(ex!.Message, Does.Contain("the entry symbol 'kernel_start' is not defined"));
    }

    [Test]
    public void NotAnElfFileIsAnError()
    {
        var ex = Assert.Throws<ImageBuildException>(() => ElfLinker.Link(File.ReadAllBytes(Guests.HelloImage), new LinkOptions(), "Hello.pvimg"));
        Assert.That(ex!.Message, Is.EqualTo("Hello.pvimg: not an ELF file"));
    }

    /// <summary>Overwrites a symbol name in the object's string table (the new name must not be longer).</summary>
    private static byte[] RenameSymbol(byte[] elf, string from, string to)
    {
        byte[] needle = Encoding.ASCII.GetBytes("\0" + from + "\0");
        int at = elf.AsSpan().IndexOf(needle);
        Assert.That(at, Is.GreaterThan(0), $"{from} is in the string table");
        byte[] replacement = Encoding.ASCII.GetBytes(to.PadRight(from.Length, '\0'));
        replacement.CopyTo(elf, at + 1);
        return elf;
    }
}
