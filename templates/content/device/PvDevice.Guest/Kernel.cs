using ParaVirt.Abi;
using ParaVirt.Guest;
using ParaVirt.Guest.Drivers;
using ParaVirt.Guest.Virtio;

namespace TemplateNamespace.Guest;

/// <summary>
/// The guest kernel: reads <see cref="Bytes"/> random bytes from the entropy device and prints them.
/// Exit code 0, or <see cref="NoDevice"/> / <see cref="ReadFailed"/> with the driver status printed.
/// </summary>
public static unsafe class Kernel
{
    /// <summary>Bytes read from the device.</summary>
    public const uint Bytes = 32;

    /// <summary>Exit code when the device cannot be opened.</summary>
    public const int NoDevice = 1;

    /// <summary>Exit code when a read fails or comes back short.</summary>
    public const int ReadFailed = 2;

    private const string HexDigits = "0123456789abcdef";

    /// <summary>The entry point, named by &lt;ParaVirtEntryPoint&gt; in the project file.</summary>
    public static int Main(StartInfo* startInfo)
    {
        int status = EntropyDriver.Open(out EntropyDriver entropy);
        if (status < 0)
            return Fail("cannot open the entropy device: ", status, NoDevice);
        byte* buffer = (byte*)Virtqueue.AllocatePages(4096); // guest RAM the device may write
        int read = entropy.Read(buffer, Bytes);
        if (read < 0)
            return Fail("read failed: ", read, ReadFailed);
        if (read != (int)Bytes)
            return Fail("short read: ", read, ReadFailed);
        Console.Write("template-device-name: ");
        Console.WriteDecimal((long)read);
        Console.Write(" random bytes from the device: ");
        for (int i = 0; i < read; i++)
        {
            Console.Write(HexDigits[buffer[i] >> 4]);
            Console.Write(HexDigits[buffer[i] & 0xF]);
        }
        Console.WriteLine();
        return 0;
    }

    private static int Fail(string what, int status, int exitCode)
    {
        Console.Write("template-device-name: ");
        Console.Write(what);
        Console.WriteLine(DriverStatus.Describe(status));
        return exitCode;
    }
}
