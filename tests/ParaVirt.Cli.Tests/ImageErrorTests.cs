using System.IO;
using ParaVirt.Image;
using ParaVirt.Vmm;

namespace ParaVirt.Cli.Tests;

/// <summary>Images that are missing, not files, corrupt or too big: exit code 4, one line naming the path.</summary>
public class ImageErrorTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("paravirt-cli-tests-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private string WriteImage(string name, byte[] bytes)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Test]
    public void AMissingImage()
    {
        string path = Path.Combine(_directory, "missing.pvimg");
        Paravirt.AssertError(Paravirt.Run("run", path), ExitCodes.BadImage, $"image '{path}' not found");
    }

    [Test]
    public void ADirectory() =>
        Paravirt.AssertError(Paravirt.Run("run", _directory), ExitCodes.BadImage, $"{_directory} is a directory");

    [Test]
    public void RandomBytes()
    {
        var bytes = new byte[4096];
        new Random(4).NextBytes(bytes);
        string path = WriteImage("random.pvimg", bytes);
        CliResult result = Paravirt.Run("run", path);
        Paravirt.AssertError(result, ExitCodes.BadImage, $"paravirt: {path}: not a ParaVirt image: bad magic");
    }

    [Test]
    public void AnEmptyFile()
    {
        string path = WriteImage("empty.pvimg", []);
        Paravirt.AssertError(Paravirt.Run("run", path), ExitCodes.BadImage, $"paravirt: {path}: truncated: 0 bytes is shorter than the 64-byte header");
    }

    [TestCase(32)]
    [TestCase(64)]
    [TestCase(1000)]
    public void ATruncatedHelloImage(int keep)
    {
        byte[] hello = File.ReadAllBytes(Paravirt.HelloImage);
        Assume.That(hello.Length, Is.GreaterThan(keep));
        string path = WriteImage("truncated.pvimg", hello[..keep]);
        Paravirt.AssertError(Paravirt.Run("run", path), ExitCodes.BadImage, $"paravirt: {path}: truncated: ");
    }

    [Test]
    public void AHelloImageWithAFlippedByte()
    {
        byte[] hello = File.ReadAllBytes(Paravirt.HelloImage);
        hello[hello.Length / 2] ^= 0x40;
        string path = WriteImage("flipped.pvimg", hello);
        Paravirt.AssertError(Paravirt.Run("run", path), ExitCodes.BadImage, $"paravirt: {path}: corrupt: checksum mismatch");
    }

    [Test]
    public void AHelloImageWithBytesAfterItsEnd()
    {
        byte[] hello = [.. File.ReadAllBytes(Paravirt.HelloImage), 0, 0, 0, 0];
        string path = WriteImage("long.pvimg", hello);
        Paravirt.AssertError(Paravirt.Run("run", path), ExitCodes.BadImage, $"paravirt: {path}: corrupt: 4 bytes follow the declared end");
    }

    [Test]
    public void AnImageTooBigForTheMemory()
    {
        // Loading needs a VM, so this case needs KVM: without it the run stops earlier (exit 3).
        if (!Engines.IsAvailable(Engines.Default, out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
        // Hello with 8 MiB of bss: a valid image that 4 MiB of RAM cannot hold.
        PvImage hello = PvImageReader.ReadFile(Paravirt.HelloImage);
        var big = new PvImage(hello.AbiVersion, hello.Entry, hello.LoadAddress, 8UL << 20, hello.Sections);
        string path = WriteImage("big.pvimg", PvImageWriter.Write(big));

        CliResult result = Paravirt.Run("run", path, "--memory", "4");
        Paravirt.AssertError(result, ExitCodes.BadImage, $"paravirt: {path}: the image needs guest memory [0x200000, 0xa00000) but guest RAM is");
        Assert.That(result.Stdout, Is.Empty, "the guest never ran");

        CliResult roomy = Paravirt.Run("run", path, "--memory", "16", "--quiet");
        Assert.That(roomy.ExitCode, Is.Zero, roomy.ToString());
    }
}
