namespace System;

/// <summary>
/// The base of every array. Arrays of primitives and structs can be allocated in a guest (bump
/// allocator, never freed) and indexed with bounds checks.
/// </summary>
public abstract class Array
{
#pragma warning disable CS0649, CS0169 // the layout is a contract with ilc: the length follows the method table
    private int _numComponents;
#pragma warning restore CS0649, CS0169

    /// <summary>The number of elements.</summary>
    public int Length => _numComponents;
}

/// <summary>ilc's generic view of one-dimensional zero-based arrays.</summary>
internal class Array<T> : Array
{
}
