namespace System.Runtime.CompilerServices;

/// <summary>Marks a method whose body ilc supplies.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Method | AttributeTargets.Constructor | AttributeTargets.Field, Inherited = false)]
public sealed class IntrinsicAttribute : Attribute
{
}

/// <summary>How a method is implemented.</summary>
[Flags]
public enum MethodImplOptions
{
    /// <summary>No option.</summary>
    Unmanaged = 0x0004,
    /// <summary>Never inline.</summary>
    NoInlining = 0x0008,
    /// <summary>Do not optimise.</summary>
    NoOptimization = 0x0040,
    /// <summary>Inline when possible.</summary>
    AggressiveInlining = 0x0100,
    /// <summary>Optimise fully at once.</summary>
    AggressiveOptimization = 0x0200,
    /// <summary>Implemented by the runtime.</summary>
    InternalCall = 0x1000,
}

/// <summary>Controls how a method is compiled.</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Constructor, Inherited = false)]
public sealed class MethodImplAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public MethodImplAttribute(MethodImplOptions methodImplOptions) { }
}

/// <summary>Names an indexer.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class IndexerNameAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public IndexerNameAttribute(string indexerName) { }
}

/// <summary>Locals are not zeroed at method entry.</summary>
[AttributeUsage(AttributeTargets.Module | AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface | AttributeTargets.Constructor | AttributeTargets.Method | AttributeTargets.Property | AttributeTargets.Event, Inherited = false)]
public sealed class SkipLocalsInitAttribute : Attribute
{
}

/// <summary>Marks compiler-generated code.</summary>
[AttributeUsage(AttributeTargets.All, Inherited = true)]
public sealed class CompilerGeneratedAttribute : Attribute
{
}

/// <summary>Describes a fixed-size buffer field.</summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class FixedBufferAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public FixedBufferAttribute(Type elementType, int length) { }
}

/// <summary>A struct repeated <c>length</c> times inline.</summary>
[AttributeUsage(AttributeTargets.Struct, AllowMultiple = false)]
public sealed class InlineArrayAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public InlineArrayAttribute(int length) { }
}

/// <summary>Calling convention marker: the C calling convention.</summary>
public class CallConvCdecl
{
}

/// <summary>Calling convention modifier: no GC transition around the call (every guest call is like this).</summary>
public class CallConvSuppressGCTransition
{
}
