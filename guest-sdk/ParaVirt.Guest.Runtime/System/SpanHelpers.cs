namespace System;

/// <summary>Memory fill and clear helpers ilc calls for <c>initblk</c> and zeroing.</summary>
internal static unsafe class SpanHelpers
{
    internal static void Fill(ref byte destination, nuint length, byte value)
    {
        byte* d = (byte*)Runtime.CompilerServices.Unsafe.AsPointer(ref destination);
        for (nuint i = 0; i < length; i++)
            d[i] = value;
    }

    internal static void ClearWithoutReferences(ref byte destination, nuint length) => Fill(ref destination, length, 0);

    internal static void ClearWithReferences(ref nint destination, nuint pointerCount) =>
        Fill(ref Runtime.CompilerServices.Unsafe.As<nint, byte>(ref destination), pointerCount * (nuint)sizeof(nint), 0);

    internal static void Memmove(ref byte destination, ref byte source, nuint length) =>
        Buffer.Memmove(ref destination, ref source, length);
}
