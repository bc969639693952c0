namespace System;

/// <summary>A placeholder: a guest has no reflection. It exists so attribute signatures compile.</summary>
public abstract class Type
{
}

/// <summary>The JIT looks this class up by name; a guest never creates one.</summary>
internal sealed class RuntimeType : Type
{
}
