using ParaVirt.Abi;

namespace Internal.Runtime;

/// <summary>
/// Stops the VM when the guest hits something the runtime cannot do (out of heap, an index out of
/// range, an exception): a <see cref="Hypercall.Shutdown"/> with exit code <see cref="ExitCode"/>
/// and a readable reason. Never returns.
/// </summary>
/// <example><code>if (p == null) GuestFailFast.Fail("out of frames");</code></example>
public static unsafe class GuestFailFast
{
    /// <summary>The exit code a fail-fast stop reports (as a process killed by SIGABRT).</summary>
    public const int ExitCode = 134;

    private const string Prefix = "guest fail-fast: ";

    /// <summary>Stops the VM with <c>"guest fail-fast: " + reason</c>.</summary>
    public static void Fail(string reason)
    {
        // The reason goes to the host as ASCII built on the stack: no allocation on this path.
        const int Capacity = 240;
        byte* text = stackalloc byte[Capacity];
        int length = Append(text, 0, Capacity, Prefix);
        length = Append(text, length, Capacity, reason);
        RawHypercall.Call(Hypercall.Shutdown, ExitCode, (ulong)text, (ulong)length);
        // Shutdown does not return; if no hypercall page is known, halting traps to the host.
        while (true)
            HaltForever();
    }

    private static int Append(byte* text, int length, int capacity, string value)
    {
        if (value is null)
            return length;
        for (int i = 0; i < value.Length && length < capacity; i++)
        {
            char c = value[i];
            text[length++] = c is >= ' ' and <= '~' ? (byte)c : (byte)'?';
        }
        return length;
    }

    private static void HaltForever()
    {
        // Spinning keeps the vCPU busy until the host's watchdog stops it; there is nothing else
        // safe to do without a hypercall page.
    }
}
