using System.Runtime.CompilerServices;
using ParaVirt.Abi;
using ParaVirt.Guest;

namespace Crash;

/// <summary>The crashing sample kernel.</summary>
public static unsafe class Kernel
{
    /// <summary>The entry point (named by &lt;ParaVirtEntryPoint&gt; in Crash.csproj).</summary>
    public static int Main(StartInfo* startInfo)
    {
        int[] table = new int[4];
        for (int i = 0; i < table.Length; i++)
            table[i] = i * 10;
        bool fault = startInfo->CommandLineLength > 0 && *(byte*)startInfo->CommandLine == (byte)'f';
        Console.WriteLine(fault ? "storing through a null pointer" : "summing past the end of a 4-entry table");
        int sum = fault ? Table.StoreThroughNull(table) : Table.Sum(table, 8);
        Console.WriteDecimal((ulong)sum);
        return 0;
    }
}

/// <summary>The calls the crash happens in.</summary>
public static unsafe class Table
{
    /// <summary>Sums the first <paramref name="count"/> entries of <paramref name="table"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Sum(int[] table, int count)
    {
        int sum = 0;
        for (int i = 0; i < count; i++)
            sum += Read(table, i);
        return sum;
    }

    /// <summary>One entry: index out of range once <paramref name="index"/> reaches the length.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Read(int[] table, int index)
    {
        return table[index];
    }

    /// <summary>Writes the table's first entry to address 0.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int StoreThroughNull(int[] table)
    {
        int* nowhere = null;
        *nowhere = table[0];
        return *nowhere;
    }
}
