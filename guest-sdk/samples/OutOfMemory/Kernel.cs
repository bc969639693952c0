using ParaVirt.Abi;
using ParaVirt.Guest;

namespace OutOfMemory;

/// <summary>Allocates 64 KiB blocks until the heap runs out.</summary>
public static unsafe class Kernel
{
    /// <summary>The entry point; never returns normally (the runtime fails fast first).</summary>
    public static int Main(StartInfo* startInfo)
    {
        Console.Write("heap ");
        Console.WriteDecimal(startInfo->HeapSize);
        Console.WriteLine(" bytes; allocating until it runs out");
        ulong blocks = 0;
        while (true)
        {
            byte[] block = new byte[64 * 1024];
            block[0] = 1;
            blocks++;
            if (blocks > startInfo->HeapSize)
                return 2; // unreachable unless the allocator hands out memory it does not have
        }
    }
}
