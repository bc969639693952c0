namespace System;

/// <summary>Memory copy helpers ilc calls for block copies (<c>cpblk</c>).</summary>
internal static unsafe class Buffer
{
    internal static void Memmove(ref byte destination, ref byte source, nuint length)
    {
        byte* d = (byte*)Runtime.CompilerServices.Unsafe.AsPointer(ref destination);
        byte* s = (byte*)Runtime.CompilerServices.Unsafe.AsPointer(ref source);
        if (d < s)
        {
            for (nuint i = 0; i < length; i++)
                d[i] = s[i];
        }
        else
        {
            for (nuint i = length; i > 0; i--)
                d[i - 1] = s[i - 1];
        }
    }

    // No GC: a move of references needs no write barrier.
    internal static void BulkMoveWithWriteBarrier(ref byte destination, ref byte source, nuint length) =>
        Memmove(ref destination, ref source, length);
}
