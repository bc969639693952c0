namespace System.Runtime.CompilerServices;

/// <summary>
/// Low-level reference and pointer operations. Every method is an ilc intrinsic: the compiler
/// supplies the body, so the declarations here are extern.
/// </summary>
public static unsafe class Unsafe
{
    /// <summary>Reinterprets an object reference as <typeparamref name="T"/> with no check.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern T As<T>(object o) where T : class;

    /// <summary>Reinterprets a reference to <typeparamref name="TFrom"/> as one to <typeparamref name="TTo"/>.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern ref TTo As<TFrom, TTo>(ref TFrom source);

    /// <summary>A reference to the <typeparamref name="T"/> at <paramref name="source"/>.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern ref T AsRef<T>(void* source);

    /// <summary>The address a reference points to.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern void* AsPointer<T>(ref T value);

    /// <summary>A reference <paramref name="elementOffset"/> elements past <paramref name="source"/>.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern ref T Add<T>(ref T source, int elementOffset);

    /// <summary>A reference <paramref name="elementOffset"/> elements past <paramref name="source"/>.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern ref T Add<T>(ref T source, nint elementOffset);

    /// <summary>A reference <paramref name="byteOffset"/> bytes past <paramref name="source"/>.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern ref T AddByteOffset<T>(ref T source, nint byteOffset);

    /// <summary>The size of <typeparamref name="T"/> in bytes.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern int SizeOf<T>();

    /// <summary>A null reference.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern ref T NullRef<T>();

    /// <summary>True when <paramref name="source"/> is a null reference.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern bool IsNullRef<T>(ref T source);
}
