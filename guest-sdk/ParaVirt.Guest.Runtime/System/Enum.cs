namespace System;

/// <summary>The base of every enum. A guest cannot format or parse enums (no reflection).</summary>
public abstract class Enum : ValueType
{
}
