namespace System.Runtime.CompilerServices;

/// <summary>Language features the C# compiler may use against this corelib.</summary>
public static class RuntimeFeature
{
    /// <summary>Function pointers with unmanaged calling conventions.</summary>
    public const string UnmanagedSignatureCallingConvention = nameof(UnmanagedSignatureCallingConvention);

    /// <summary><c>ref</c> fields (Span's reference).</summary>
    public const string ByRefFields = nameof(ByRefFields);

    /// <summary><c>nint</c> is <see cref="IntPtr"/>.</summary>
    public const string NumericIntPtr = nameof(NumericIntPtr);
}
