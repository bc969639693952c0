namespace System;

/// <summary>A handle to a type's metadata (used by <c>ldtoken</c>).</summary>
public struct RuntimeTypeHandle
{
    private nint _value;
}

/// <summary>A handle to a method's metadata.</summary>
public struct RuntimeMethodHandle
{
    private nint _value;
}

/// <summary>A handle to a field's metadata (static array initialisers use it).</summary>
public struct RuntimeFieldHandle
{
    private nint _value;
}
