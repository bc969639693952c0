namespace System.Runtime.InteropServices;

/// <summary>A method callable only from native code, optionally exported under <see cref="EntryPoint"/>.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class UnmanagedCallersOnlyAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public UnmanagedCallersOnlyAttribute() { }

    /// <summary>Calling convention types.</summary>
    public Type[] CallConvs;

    /// <summary>The exported symbol name.</summary>
    public string EntryPoint;
}

/// <summary>How a struct's fields are laid out.</summary>
public enum LayoutKind
{
    /// <summary>In declaration order.</summary>
    Sequential = 0,
    /// <summary>At explicit offsets.</summary>
    Explicit = 2,
    /// <summary>As the runtime likes.</summary>
    Auto = 3,
}

/// <summary>Controls a struct's layout.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class StructLayoutAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public StructLayoutAttribute(LayoutKind layoutKind) { }

    /// <summary>Field packing.</summary>
    public int Pack;

    /// <summary>Total size.</summary>
    public int Size;
}

/// <summary>A field's byte offset in an explicit-layout struct.</summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class FieldOffsetAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public FieldOffsetAttribute(int offset) { }
}

/// <summary>An input parameter.</summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class InAttribute : Attribute
{
}

/// <summary>An output parameter.</summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class OutAttribute : Attribute
{
}

/// <summary>The call needs no GC transition.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class SuppressGCTransitionAttribute : Attribute
{
}
