using System.Runtime;

namespace Internal.Runtime.Exports;

/// <summary>
/// The allocation helpers ilc calls for <c>new</c>: objects and arrays come from the
/// <see cref="BumpAllocator"/>. A guest has no GC, so the write barriers are plain stores.
/// </summary>
internal static unsafe class AllocationExports
{
    [RuntimeExport("RhpNewFast")]
    private static void* RhpNewFast(MethodTable* type)
    {
        var result = (MethodTable**)BumpAllocator.Allocate(type->BaseSize);
        *result = type;
        return result;
    }

    [RuntimeExport("RhpNewFinalizable")]
    private static void* RhpNewFinalizable(MethodTable* type) => RhpNewFast(type); // finalizers never run

    [RuntimeExport("RhpNewArray")]
    private static void* RhpNewArray(MethodTable* type, int length) => NewArray(type, length);

    [RuntimeExport("RhpNewArrayFast")]
    private static void* RhpNewArrayFast(MethodTable* type, int length) => NewArray(type, length);

    [RuntimeExport("RhpNewPtrArrayFast")]
    private static void* RhpNewPtrArrayFast(MethodTable* type, int length) => NewArray(type, length);

    [RuntimeExport("RhNewString")]
    private static void* RhNewString(MethodTable* type, int length) => NewArray(type, length);

    [RuntimeExport("RhpAssignRef")]
    private static void RhpAssignRef(void** destination, void* value) => *destination = value;

    [RuntimeExport("RhpCheckedAssignRef")]
    private static void RhpCheckedAssignRef(void** destination, void* value) => *destination = value;

    private static void* NewArray(MethodTable* type, int length)
    {
        if (length < 0)
            GuestFailFast.Fail("array length is negative");
        ulong size = type->BaseSize + (ulong)(uint)length * type->ComponentSize;
        var result = (MethodTable**)BumpAllocator.Allocate(size);
        *result = type;
        *(int*)(result + 1) = length;
        return result;
    }
}
