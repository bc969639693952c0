namespace ParaVirt.Guest;

/// <summary>
/// Machine code the guest SDK writes at run time into guest RAM (which the platform maps
/// read-write-execute): interrupt entry stubs, <c>lidt</c>, and <c>sti; hlt</c>. These are
/// instructions the extern stub table (<see cref="PrivilegedInstructions"/>) does not provide, and
/// sequences that must be adjacent (the sti shadow covers exactly the next instruction).
/// </summary>
/// <example><code>
/// byte* code = CodeBuffer.Allocate(4);   // then write bytes and call it through a function pointer
/// </code></example>
public static unsafe class CodeBuffer
{
    private static byte* s_next;
    private static byte* s_end;

    /// <summary>Returns <paramref name="size"/> bytes of executable memory, 16-byte aligned; never freed.</summary>
    public static byte* Allocate(int size)
    {
        size = (size + 15) & ~15;
        if (s_next == null || s_next + size > s_end)
        {
            const int Chunk = 4096;
            byte[] block = new byte[Chunk + 16];
            fixed (byte* p = block)
            {
                // Invariant: arrays never move (no GC), so the address stays valid.
                s_next = (byte*)(((ulong)p + 15) & ~15UL);
                s_end = p + Chunk + 16;
            }
        }
        byte* result = s_next;
        s_next += size;
        return result;
    }

    /// <summary>Copies <paramref name="bytes"/> to <paramref name="destination"/>; returns the byte after them.</summary>
    public static byte* Emit(byte* destination, System.ReadOnlySpan<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
            destination[i] = bytes[i];
        return destination + bytes.Length;
    }

    /// <summary>Writes a little-endian 32-bit value.</summary>
    public static byte* Emit32(byte* destination, uint value)
    {
        for (int i = 0; i < 4; i++)
            destination[i] = (byte)(value >> (8 * i));
        return destination + 4;
    }

    /// <summary>Writes a little-endian 64-bit value.</summary>
    public static byte* Emit64(byte* destination, ulong value)
    {
        for (int i = 0; i < 8; i++)
            destination[i] = (byte)(value >> (8 * i));
        return destination + 8;
    }
}
