using System;
using Internal.Runtime;
using ParaVirt.Abi;

namespace ParaVirt.Guest;

/// <summary>
/// Typed wrappers over the ParaVirt hypercall ABI (<see cref="Hypercall"/>). Every call is one
/// exit to the host; a negative result is a <see cref="HypercallStatus"/>.
/// </summary>
/// <example><code>
/// if (Hypercalls.GetVersion() >> 16 != AbiVersion.Major) Guest.FailFast("ABI mismatch");
/// long written = Hypercalls.ConsoleWrite("hi\n"u8);
/// </code></example>
public static unsafe class Hypercalls
{
    /// <summary>The host's ABI version, <c>(Major &lt;&lt; 16) | Minor</c>.</summary>
    public static uint GetVersion() => (uint)RawHypercall.Call(Hypercall.GetVersion);

    /// <summary>Feature word <paramref name="word"/> (word 0 is a <see cref="HypercallFeatures"/> set).</summary>
    public static HypercallFeatures GetFeatures(uint word = 0) => (HypercallFeatures)RawHypercall.Call(Hypercall.GetFeatures, word);

    /// <summary>The null hypercall: one round trip, nothing done. Returns the VM's configured value.</summary>
    public static long Null() => RawHypercall.Call(Hypercall.Null);

    /// <summary>Writes <paramref name="text"/> to the console; returns the count written or a negative status.</summary>
    public static long ConsoleWrite(ReadOnlySpan<byte> text)
    {
        fixed (byte* p = text)
            return RawHypercall.Call(Hypercall.ConsoleWrite, (ulong)p, (ulong)text.Length);
    }

    /// <summary>Writes <paramref name="length"/> bytes at <paramref name="text"/> to the console.</summary>
    public static long ConsoleWrite(byte* text, int length) =>
        RawHypercall.Call(Hypercall.ConsoleWrite, (ulong)text, (ulong)length);

    /// <summary>Stops the VM with <paramref name="exitCode"/> and an ASCII <paramref name="reason"/> (or none). Does not return.</summary>
    public static void Shutdown(int exitCode, string reason = null)
    {
        const int Capacity = 240;
        byte* text = stackalloc byte[Capacity];
        int length = 0;
        if (reason is not null)
        {
            for (int i = 0; i < reason.Length && length < Capacity; i++)
            {
                char c = reason[i];
                text[length++] = c is >= ' ' and <= '~' ? (byte)c : (byte)'?';
            }
        }
        RawHypercall.Call(Hypercall.Shutdown, (ulong)(uint)exitCode, length == 0 ? 0 : (ulong)text, (ulong)length);
        while (true) { } // not reached: the host stops the vCPU
    }

    /// <summary>Runs <paramref name="entries"/> in one exit; returns the number run. Each entry's Result is filled in.</summary>
    public static long Multicall(Span<MulticallEntry> entries)
    {
        fixed (MulticallEntry* p = entries)
            return RawHypercall.Call(Hypercall.Multicall, (ulong)p, (ulong)entries.Length);
    }

    /// <summary>A typed host call: <paramref name="request"/> (MessagePack) in, the response into <paramref name="response"/>; returns its length.</summary>
    public static long HostCall(ReadOnlySpan<byte> request, Span<byte> response)
    {
        fixed (byte* req = request)
        fixed (byte* resp = response)
            return RawHypercall.Call6(Hypercall.HostCall, (ulong)req, (ulong)request.Length, (ulong)resp, (ulong)response.Length, 0, 0);
    }
}
