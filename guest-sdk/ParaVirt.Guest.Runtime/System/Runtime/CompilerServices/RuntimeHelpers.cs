namespace System.Runtime.CompilerServices;

/// <summary>Helpers the C# compiler emits calls to; ilc expands them as intrinsics.</summary>
public static class RuntimeHelpers
{
    /// <summary>Copies a static array initialiser into <paramref name="array"/>.</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern void InitializeArray(Array array, RuntimeFieldHandle fldHandle);

    /// <summary>A read-only span over constant data in the image (C# uses it for <c>ReadOnlySpan&lt;int&gt;</c> literals).</summary>
    [Intrinsic, MethodImpl(MethodImplOptions.InternalCall)]
    public static extern ReadOnlySpan<T> CreateSpan<T>(RuntimeFieldHandle fldHandle);

    /// <summary>The offset of a string's first character from the string reference.</summary>
    public static int OffsetToStringData => 12;
}
