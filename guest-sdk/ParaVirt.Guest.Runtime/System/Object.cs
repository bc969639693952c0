namespace System;

/// <summary>The root of every type. In a guest an object is a method-table pointer followed by its fields.</summary>
public class Object
{
#pragma warning disable CS0649, CS0169 // written by the allocator
    // The layout is a contract with ilc: the first field of every object is its MethodTable*.
    internal unsafe Internal.Runtime.MethodTable* m_pMethodTable;
#pragma warning restore CS0649, CS0169

    /// <summary>Creates an object.</summary>
    public Object() { }

    /// <summary>Releases nothing: a guest has no finalizers.</summary>
    ~Object() { }

    /// <summary>Reference equality.</summary>
    public virtual bool Equals(object o) => (object)this == o;

    /// <summary>A hash code (zero: a guest has no object identity hashing).</summary>
    public virtual int GetHashCode() => 0;

    /// <summary>The type's name is not available in a guest: returns an empty string.</summary>
    public virtual string ToString() => "";
}
