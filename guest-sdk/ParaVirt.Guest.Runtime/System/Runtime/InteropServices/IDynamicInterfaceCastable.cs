namespace System.Runtime.InteropServices;

/// <summary>ilc looks this interface up when it lays out types; a guest never implements it.</summary>
public interface IDynamicInterfaceCastable
{
    /// <summary>Whether the object implements <paramref name="interfaceType"/>.</summary>
    bool IsInterfaceImplemented(RuntimeTypeHandle interfaceType, bool throwIfNotImplemented);

    /// <summary>The type implementing <paramref name="interfaceType"/> for this object.</summary>
    RuntimeTypeHandle GetDynamicInterfaceImplementation(RuntimeTypeHandle interfaceType);
}
