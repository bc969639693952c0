namespace System;

/// <summary>The base of every attribute.</summary>
public abstract class Attribute
{
}

/// <summary>Where an attribute may be applied.</summary>
[Flags]
public enum AttributeTargets
{
    /// <summary>Assemblies.</summary>
    Assembly = 0x0001,
    /// <summary>Modules.</summary>
    Module = 0x0002,
    /// <summary>Classes.</summary>
    Class = 0x0004,
    /// <summary>Structs.</summary>
    Struct = 0x0008,
    /// <summary>Enums.</summary>
    Enum = 0x0010,
    /// <summary>Constructors.</summary>
    Constructor = 0x0020,
    /// <summary>Methods.</summary>
    Method = 0x0040,
    /// <summary>Properties.</summary>
    Property = 0x0080,
    /// <summary>Fields.</summary>
    Field = 0x0100,
    /// <summary>Events.</summary>
    Event = 0x0200,
    /// <summary>Interfaces.</summary>
    Interface = 0x0400,
    /// <summary>Parameters.</summary>
    Parameter = 0x0800,
    /// <summary>Delegates.</summary>
    Delegate = 0x1000,
    /// <summary>Return values.</summary>
    ReturnValue = 0x2000,
    /// <summary>Generic parameters.</summary>
    GenericParameter = 0x4000,
    /// <summary>Everything.</summary>
    All = 0x7FFF,
}

/// <summary>Declares where an attribute class may be used.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class AttributeUsageAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public AttributeUsageAttribute(AttributeTargets validOn) { }

    /// <summary>Whether the attribute may appear more than once.</summary>
    public bool AllowMultiple { get; set; }

    /// <summary>Whether derived classes inherit the attribute.</summary>
    public bool Inherited { get; set; }
}

/// <summary>Marks an enum as a bit set.</summary>
[AttributeUsage(AttributeTargets.Enum)]
public sealed class FlagsAttribute : Attribute
{
}

/// <summary>Marks a parameter as taking a variable number of arguments.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class ParamArrayAttribute : Attribute
{
}

/// <summary>Marks a program element as obsolete.</summary>
public sealed class ObsoleteAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    public ObsoleteAttribute() { }

    /// <summary>Creates the attribute with a message.</summary>
    public ObsoleteAttribute(string message) { }
}
