using System;
using ParaVirt.HostCalls;

namespace ParaVirt.Cli.Commands;

/// <summary>The host functions <c>paravirt run --host-calls</c> offers (guest-sdk/samples/HostCallDemo calls them).</summary>
internal static class DemoHostFunctions
{
    public static HostFunctionTable Create()
    {
        var table = new HostFunctionTable();
        table.Register<long, long, long>("add", static (a, b) => a + b);
        table.Register<string, string>("greet", static name => $"hello, {name}");
        table.Register<long>("fail", static () => throw new InvalidOperationException("the demo function 'fail' always fails"));
        return table;
    }
}
