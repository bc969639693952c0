namespace System;

/// <summary>The base of delegate types. Delegates work in a guest (bump-allocated); combining does not.</summary>
public abstract class Delegate
{
#pragma warning disable CS0649, CS0169 // the layout is a contract with ilc
    internal object m_firstParameter;
    internal object m_helperObject;
    internal nint m_extraFunctionPointerOrData;
    internal nint m_functionPointer;
#pragma warning restore CS0649, CS0169
}

/// <summary>The base of every C# delegate type.</summary>
public abstract class MulticastDelegate : Delegate
{
}
