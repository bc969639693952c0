using Internal.Runtime;
using ParaVirt.Abi;
using ParaVirt.Guest;

namespace Hello;

/// <summary>The sample kernel.</summary>
public static unsafe class Kernel
{
    /// <summary>CRC-32 (IEEE) of the 4 KiB pattern <c>(i * 31 + 7) &amp; 0xFF</c>.</summary>
    public const uint ExpectedChecksum = 0x5D1C4EE3;

    /// <summary>Exit code when the checksum does not match.</summary>
    public const int ChecksumMismatch = 1;

    /// <summary>The entry point (named by &lt;ParaVirtEntryPoint&gt; in Hello.csproj).</summary>
    public static int Main(StartInfo* startInfo)
    {
        Console.WriteLine("Hello from a C# guest kernel");
        Console.Write("utf-8 literals work too\n"u8);

        Console.Write("abi ");
        Console.WriteHex(Hypercalls.GetVersion());
        Console.Write(", heap ");
        Console.WriteHex(startInfo->HeapStart);
        Console.Write(" + ");
        Console.WriteDecimal(startInfo->HeapSize / 1024);
        Console.WriteLine(" KiB");

        byte[] buffer = new byte[4096];
        for (int i = 0; i < buffer.Length; i++)
            buffer[i] = (byte)(i * 31 + 7);
        uint checksum = Crc32.Compute(buffer);

        Console.Write("crc32 = ");
        Console.WriteHex(checksum, 8);
        Console.Write(checksum == ExpectedChecksum ? " (ok)" : " (MISMATCH)");
        Console.Write(", heap used ");
        Console.WriteDecimal(BumpAllocator.Used);
        Console.WriteLine(" bytes");
        return checksum == ExpectedChecksum ? 0 : ChecksumMismatch;
    }
}
