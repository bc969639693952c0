using System;
using ParaVirt.Abi;
using ParaVirt.Guest;

namespace HostCallDemo;

/// <summary>
/// Calls host functions and checks the answers. The host attaches a HostFunctionTable with:
/// <list type="bullet">
/// <item><c>"add"(long a, long b) -> long</c>: a + b</item>
/// <item><c>"greet"(string name) -> string</c>: "hello, " + name</item>
/// <item><c>"fail"() -> long</c>: throws</item>
/// </list>
/// and no function named "missing". Exit code: 0 when every answer matches, 1 otherwise, 2 when
/// the host offers no host calls.
/// </summary>
public static unsafe class Kernel
{
    /// <summary>Exit code when an answer does not match.</summary>
    public const int Mismatch = 1;

    /// <summary>Exit code when the host does not report <see cref="HypercallFeatures.HostCall"/>.</summary>
    public const int NoHostCalls = 2;

    private static int s_failures;

    /// <summary>The entry point (named by &lt;ParaVirtEntryPoint&gt; in HostCallDemo.csproj).</summary>
    public static int Main(StartInfo* startInfo)
    {
        Console.WriteLine("HostCallDemo: typed host calls over MessagePack");
        if ((Hypercalls.GetFeatures() & HypercallFeatures.HostCall) == 0)
        {
            Console.WriteLine("the host offers no host calls (feature bit HostCall is clear)");
            return NoHostCalls;
        }

        CheckAdd(2, 40, 42);
        CheckAdd(-7, 3, -4);
        CheckAdd(0x1_0000_0000, 0x7FFF_FFFF, 0x1_7FFF_FFFF);
        CheckGreet();
        CheckStatus("fail()", HostCalls.Call("fail", out long _), HostCallResult.HostFailure);
        CheckStatus("missing()", HostCalls.Call("missing", out long _), HostCallResult.UnknownFunction);
        CheckStatus("add(1)", HostCalls.Call("add", 1, out long _), HostCallResult.WrongArgumentCount);
        CheckWrongType();

        if (s_failures == 0)
        {
            Console.WriteLine("all host calls answered as expected");
            return 0;
        }
        Console.WriteDecimal(s_failures);
        Console.WriteLine(" host call(s) answered wrongly");
        return Mismatch;
    }

    private static void CheckAdd(long a, long b, long expected)
    {
        HostCallResult status = HostCalls.Call("add", a, b, out long sum);
        Console.Write("add(");
        Console.WriteDecimal(a);
        Console.Write(", ");
        Console.WriteDecimal(b);
        Console.Write(") = ");
        if (status != HostCallResult.Ok)
        {
            Console.Write("status ");
            Console.WriteDecimal((long)status);
            Verdict(false);
            return;
        }
        Console.WriteDecimal(sum);
        Verdict(sum == expected);
    }

    private static void CheckGreet()
    {
        Span<byte> buffer = stackalloc byte[128];
        HostCallResult status = HostCalls.Call("greet", "guest", buffer, out ReadOnlySpan<byte> greeting);
        Console.Write("greet(\"guest\") = ");
        if (status != HostCallResult.Ok)
        {
            Console.Write("status ");
            Console.WriteDecimal((long)status);
            Verdict(false);
            return;
        }
        Console.Write("\"");
        Console.Write(greeting);
        Console.Write("\"");
        Verdict(SameText(greeting, "hello, guest"));
    }

    /// <summary>"add" with a string where a long belongs: the host refuses the argument.</summary>
    private static void CheckWrongType()
    {
        Span<byte> buffer = stackalloc byte[64];
        HostCall call = HostCall.Begin(buffer, "add", 2);
        call.AddInt64(1);
        call.AddString("two");
        CheckStatus("add(1, \"two\")", call.Invoke(buffer, out PackReader _), HostCallResult.WrongArgumentType);
    }

    private static void CheckStatus(string what, HostCallResult status, HostCallResult expected)
    {
        Console.Write(what);
        Console.Write(" -> status ");
        Console.WriteDecimal((long)status);
        Verdict(status == expected);
    }

    private static void Verdict(bool ok)
    {
        if (ok)
        {
            Console.WriteLine(" ok");
            return;
        }
        s_failures++;
        Console.WriteLine(" WRONG");
    }

    /// <summary>Whether UTF-8 <paramref name="utf8"/> spells the ASCII <paramref name="ascii"/>.</summary>
    private static bool SameText(ReadOnlySpan<byte> utf8, string ascii)
    {
        if (utf8.Length != ascii.Length)
            return false;
        for (int i = 0; i < utf8.Length; i++)
            if (utf8[i] != ascii[i])
                return false;
        return true;
    }
}
