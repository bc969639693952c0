namespace Internal.Runtime;

/// <summary>
/// The head of ilc's MethodTable (the type descriptor every object points to). Only the fields the
/// allocator reads are named; the layout is a contract with ilc.
/// </summary>
internal unsafe struct MethodTable
{
    /// <summary>Low 16 bits: the element size of an array or string; high bits: type flags.</summary>
    internal uint Flags;

    /// <summary>The size of an instance with no elements, header included.</summary>
    internal uint BaseSize;

    /// <summary>The element type of an array, the base type of a class.</summary>
    internal MethodTable* RelatedType;

    /// <summary>The element size of an array or string, in bytes.</summary>
    internal uint ComponentSize => Flags & 0xFFFF;
}
