using System.IO;

namespace ParaVirt.Image.Tests;

/// <summary>Paths of the guest images the test project's references built.</summary>
internal static class Guests
{
    public static string Directory => Path.Combine(TestContext.CurrentContext.TestDirectory, "guests");

    public static string HelloImage => Path.Combine(Directory, "Hello.pvimg");

    public static string HelloDebugElf => Path.Combine(Directory, "Hello.pvimg.elf");

    public static string HelloObject => Path.Combine(Directory, "Hello.o");

    public static string OutOfMemoryImage => Path.Combine(Directory, "OutOfMemory.pvimg");

    /// <summary>The CRC-32 Hello's kernel checks (Hello.Kernel.ExpectedChecksum).</summary>
    public const uint HelloChecksum = 0x5D1C4EE3;
}
