using System.IO;
using System.Linq;
using ParaVirt.Abi;

namespace ParaVirt.Image.Tests;

/// <summary>The real Hello image, built by `dotnet build` through csc, ilc and the C# linker.</summary>
public class HelloImageTests
{
    [Test]
    public void HelloImageParsesAndLooksLikeAKernel()
    {
        PvImage image = PvImageReader.ReadFile(Guests.HelloImage);

        Assert.That(image.AbiVersion, Is.EqualTo(AbiVersion.Current));
        Assert.That(image.LoadAddress, Is.EqualTo(LinkOptions.DefaultLoadAddress));
        PvSection code = image.Sections.Single(s => s.Name == "__managedcode");
        Assert.That(code.Permissions, Is.EqualTo(SectionPermissions.Read | SectionPermissions.Execute));
        Assert.That(code.Contains(image.Entry), Is.True, "the entry is in the managed code");
        PvSection bss = image.Sections.Single(s => s.Name == ".bss");
        Assert.That(bss.Data, Is.Empty);
        Assert.That(bss.MemorySize, Is.GreaterThan(0UL));
        Assert.That(bss.Permissions, Is.EqualTo(SectionPermissions.Read | SectionPermissions.Write));
        Assert.That(image.Sections.Any(s => s.Name == ".pvdata"), Is.True, "the linker provided __security_cookie");
    }

    [Test]
    public void HelloImageIsAtMost16KiB()
    {
        long size = new FileInfo(Guests.HelloImage).Length;
        TestContext.Out.WriteLine($"Hello.pvimg: {size} bytes");
        Assert.That(size, Is.LessThanOrEqualTo(16 * 1024));
    }

    [Test]
    public void WritingAParsedImageGivesTheSameBytes()
    {
        byte[] original = File.ReadAllBytes(Guests.HelloImage);
        byte[] rewritten = PvImageWriter.Write(PvImageReader.Read(original));
        Assert.That(rewritten, Is.EqualTo(original));
    }

    [Test]
    public void LinkingTheObjectAgainReproducesTheImage()
    {
        LinkResult result = ElfLinker.LinkFile(Guests.HelloObject, new LinkOptions());
        Assert.That(PvImageWriter.Write(result.Image), Is.EqualTo(File.ReadAllBytes(Guests.HelloImage)), "the build is deterministic");
        Assert.That(result.Symbols[LinkOptions.DefaultEntrySymbol], Is.EqualTo(result.Image.Entry));
        Assert.That(result.Map, Does.Contain("__paravirt_entry"));
    }
}
