using System.Runtime.CompilerServices;
using Internal.Runtime;

namespace System.Runtime;

/// <summary>
/// The cast helpers ilc calls for <c>is</c>, <c>as</c> and casts it cannot decide at compile
/// time. A guest supports casts to classes (the base-type chain is walked); interface and
/// array-variance casts stop the VM with a reason.
/// </summary>
internal static unsafe class TypeCast
{
    internal static object IsInstanceOfClass(MethodTable* targetType, object obj)
    {
        if (obj is null)
            return null;
        for (MethodTable* type = obj.m_pMethodTable; type != null; type = type->RelatedType)
        {
            if (type == targetType)
                return obj;
        }
        return null;
    }

    internal static object CheckCastClass(MethodTable* targetType, object obj)
    {
        if (obj is null || IsInstanceOfClass(targetType, obj) is not null)
            return obj;
        GuestFailFast.Fail("invalid cast");
        return null;
    }

    internal static object CheckCastClassSpecial(MethodTable* targetType, object obj) => CheckCastClass(targetType, obj);

    internal static object IsInstanceOfAny(MethodTable* targetType, object obj) => Unsupported("casts to interfaces, arrays or generic variants are not supported in a guest");

    internal static object IsInstanceOfInterface(MethodTable* targetType, object obj) => Unsupported("casts to interfaces are not supported in a guest");

    internal static object CheckCastAny(MethodTable* targetType, object obj) => Unsupported("casts to interfaces, arrays or generic variants are not supported in a guest");

    internal static object CheckCastInterface(MethodTable* targetType, object obj) => Unsupported("casts to interfaces are not supported in a guest");

    internal static bool IsInstanceOfException(MethodTable* targetType, object obj)
    {
        Unsupported("exceptions are not supported in a guest");
        return false;
    }

    internal static void StelemRef(object[] array, nint index, object obj) => Unsupported("storing into an array of references are not supported in a guest");

    internal static ref object LdelemaRef(object[] array, nint index, MethodTable* elementType)
    {
        Unsupported("taking a reference to an element of an array of references are not supported in a guest");
        return ref Unsafe.NullRef<object>();
    }

    private static object Unsupported(string what)
    {
        GuestFailFast.Fail(what);
        return null;
    }
}
