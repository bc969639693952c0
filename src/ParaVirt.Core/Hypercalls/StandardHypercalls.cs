using System;
using System.Runtime.InteropServices;
using System.Text;
using ParaVirt.Abi;
using ParaVirt.Core.Machine;

namespace ParaVirt.Core.Hypercalls;

/// <summary>The hypercalls every VM has (docs/abi.md): version, features, null, console, shutdown, multicall.</summary>
public static class StandardHypercalls
{
    /// <summary>The longest console write one call accepts.</summary>
    public const ulong MaxConsoleWrite = 1 << 20;

    /// <summary>The longest shutdown reason text the host reads.</summary>
    public const ulong MaxReasonLength = 512;

    /// <summary>The most entries one multicall runs.</summary>
    public const ulong MaxMulticallEntries = 1024;

    /// <summary>Registers the standard calls into <paramref name="table"/>.</summary>
    public static void RegisterAll(HypercallTable table)
    {
        table.Register(Hypercall.GetVersion, static (VirtualMachine _, in HypercallArgs _) => AbiVersion.Current);
        table.Register(Hypercall.GetFeatures, static (VirtualMachine vm, in HypercallArgs a) => a.Arg0 == 0 ? (long)vm.Features : 0);
        table.Register(Hypercall.Null, static (VirtualMachine vm, in HypercallArgs _) => vm.NullHypercallValue);
        table.Register(Hypercall.ConsoleWrite, ConsoleWrite);
        table.Register(Hypercall.Shutdown, Shutdown);
        table.Register(Hypercall.Multicall, Multicall);
    }

    private static long ConsoleWrite(VirtualMachine vm, in HypercallArgs a)
    {
        if (a.Arg1 > MaxConsoleWrite)
            return (long)HypercallStatus.TooLarge;
        if (!vm.Memory.TryGetSpan(a.Arg0, a.Arg1, out Span<byte> text))
            return (long)HypercallStatus.BadAddress;
        vm.Console.Write(text);
        return (long)a.Arg1;
    }

    private static long Shutdown(VirtualMachine vm, in HypercallArgs a)
    {
        string reason;
        if (a.Arg2 == 0)
            reason = $"guest shut down with exit code {(int)a.Arg0}";
        else if (a.Arg2 <= MaxReasonLength && vm.Memory.TryGetSpan(a.Arg1, a.Arg2, out Span<byte> text))
            reason = Encoding.UTF8.GetString(text);
        else
            reason = $"guest shut down with exit code {(int)a.Arg0} (its reason text at 0x{a.Arg1:x}+{a.Arg2} is not readable)";
        vm.Stop(new VmStopReason(VmStopKind.GuestShutdown, (int)a.Arg0, reason));
        return 0;
    }

    private static long Multicall(VirtualMachine vm, in HypercallArgs a)
    {
        ulong count = a.Arg1;
        if (count > MaxMulticallEntries)
            return (long)HypercallStatus.TooLarge;
        ulong entrySize = (ulong)Marshal.SizeOf<MulticallEntry>();
        // The host writes each entry's Result: the list must lie in memory the guest may write
        // (RAM or the shared-info page), never on the hypercall or start-info page.
        if (!vm.WritableMemory.TryGetSpan(a.Arg0, count * entrySize, out Span<byte> bytes))
            return (long)HypercallStatus.BadAddress;
        // The list stays in guest memory: the guest may change it while we run it (it only hurts
        // itself); each entry is copied out once before it is used.
        Span<MulticallEntry> entries = MemoryMarshal.Cast<byte, MulticallEntry>(bytes);
        long done = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            MulticallEntry entry = entries[i];
            long result = entry.Number == (ulong)Hypercall.Multicall
                ? (long)HypercallStatus.NotPermitted
                : vm.Hypercalls.Dispatch(vm, entry.Number, new HypercallArgs(entry.Arg0, entry.Arg1, entry.Arg2, entry.Arg3, entry.Arg4, entry.Arg5));
            entries[i].Result = result;
            done++;
            if (vm.IsStopping)
                break;
        }
        return done;
    }
}
