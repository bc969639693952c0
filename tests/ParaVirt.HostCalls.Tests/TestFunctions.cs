using ParaVirt.HostCalls;

namespace ParaVirt.HostCalls.Tests;

/// <summary>The host functions the tests and the HostCallDemo guest call.</summary>
internal static class TestFunctions
{
    /// <summary>A table with add, greet, fail (the demo's set) and one function per supported type.</summary>
    public static HostFunctionTable Create(List<string>? calls = null)
    {
        var table = new HostFunctionTable();
        table.Register("add", (long a, long b) =>
        {
            calls?.Add("add");
            return a + b;
        });
        table.Register("greet", (string name) => $"hello, {name}");
        table.Register<long>("fail", () => throw new InvalidOperationException("the host function failed on purpose"));
        table.Register("answer", () => 42L);
        table.Register("not", (bool b) => !b);
        table.Register("half", (ulong u) => u / 2);
        table.Register("negate", (int i) => -i);
        table.Register("reverse", (byte[] bytes) => bytes.Reverse().ToArray());
        table.Register("repeat", (string s, int count) => string.Concat(Enumerable.Repeat(s, count)));
        table.Register("nothing", () => (string?)null);
        table.Register("sum3", (long a, ulong b, int c) => a + (long)b + c);
        return table;
    }
}
