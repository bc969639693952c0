using System;
using System.Collections.Generic;
using System.IO;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Machine;
using ParaVirt.Devices.Virtio;
using ParaVirt.Vmm.Debugging;

namespace ParaVirt.Cli.Commands;

/// <summary>The end-of-run summary: stop reason, wall time, exits by reason, hypercalls by name, and a crash's backtrace.</summary>
internal static class RunSummary
{
    public static void Write(TextWriter output, VirtualMachine vm, VmStopReason stop, TimeSpan wall, long consoleDropped = 0, VirtioTransport? virtio = null, IReadOnlyList<GuestFrame>? backtrace = null)
    {
        output.WriteLine();
        output.WriteLine($"-- {stop.Kind}: {stop.Message}");
        if (backtrace is not null)
            WriteBacktrace(output, backtrace);
        output.WriteLine($"-- engine {vm.EngineName}, wall time {wall.TotalMilliseconds:F1} ms, {vm.Exits.Total} exits");
        foreach ((string reason, long count) in vm.Exits.ByReason())
            output.WriteLine($"--   exits {reason,-12} {count,10}");
        foreach ((string instruction, long count) in vm.Exits.ByInstruction())
            output.WriteLine($"--   trap  {instruction,-12} {count,10}");
        foreach (HypercallStatistics call in vm.Hypercalls.GetStatistics())
            output.WriteLine($"--   hypercall {call.Name,-20} {call.Calls,10} calls {call.TotalTime.TotalMicroseconds,12:F1} us");
        if (virtio is not null)
            for (int i = 0; i < virtio.Devices.Count; i++)
                output.WriteLine($"--   virtio device {i} {virtio.Devices[i].GetType().FullName} (id {(uint)virtio.Devices[i].DeviceId}, status 0x{virtio.Devices[i].Status:x2})");
        if (consoleDropped > 0)
            output.WriteLine($"--   console bytes dropped {consoleDropped} (of {vm.Console.BytesWritten + vm.Console.BytesDropped}: stdout was closed, or not read before the VM stopped)");
        if (vm.PortBus.UnclaimedReads + vm.PortBus.UnclaimedWrites > 0)
            output.WriteLine($"--   unclaimed port accesses {vm.PortBus.UnclaimedReads + vm.PortBus.UnclaimedWrites}");
    }

    /// <summary>The guest's backtrace, innermost frame first: <c>-- #0 0x200351 Crash_Crash_Table::Read+0x11 (Kernel.cs:41)</c>.</summary>
    public static void WriteBacktrace(TextWriter output, IReadOnlyList<GuestFrame> backtrace)
    {
        output.WriteLine("-- backtrace:");
        for (int i = 0; i < backtrace.Count; i++)
            output.WriteLine($"--   #{i,-2} 0x{backtrace[i].Address:x} {backtrace[i].Description}");
    }
}
