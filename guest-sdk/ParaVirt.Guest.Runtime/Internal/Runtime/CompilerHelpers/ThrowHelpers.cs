namespace Internal.Runtime.CompilerHelpers;

/// <summary>
/// The helpers ilc calls where IL would throw (range checks, null checks, division by zero,
/// overflow). A guest has no exceptions: each one stops the VM with a reason.
/// </summary>
internal static class ThrowHelpers
{
    internal static void ThrowIndexOutOfRangeException() => GuestFailFast.Fail("index out of range");

    internal static void ThrowNullReferenceException() => GuestFailFast.Fail("null reference");

    internal static void ThrowDivideByZeroException() => GuestFailFast.Fail("division by zero");

    internal static void ThrowOverflowException() => GuestFailFast.Fail("arithmetic overflow");

    internal static void ThrowArrayTypeMismatchException() => GuestFailFast.Fail("array type mismatch");

    internal static void ThrowInvalidCastException() => GuestFailFast.Fail("invalid cast");

    internal static void ThrowPlatformNotSupportedException() => GuestFailFast.Fail("platform not supported");

    internal static void ThrowTypeLoadException() => GuestFailFast.Fail("type load failure");

    internal static void ThrowArgumentException() => GuestFailFast.Fail("bad argument");

    internal static void ThrowArgumentOutOfRangeException() => GuestFailFast.Fail("argument out of range");

    internal static void ThrowNotImplementedException() => GuestFailFast.Fail("not implemented");

    internal static void ThrowFeatureBodyRemoved() => GuestFailFast.Fail("a method body removed by the trimmer was called");

    internal static void ThrowInvalidProgramException() => GuestFailFast.Fail("invalid program");

    internal static void ThrowInvalidProgramExceptionWithArgument() => GuestFailFast.Fail("invalid program");

    internal static void ThrowMissingMethodException() => GuestFailFast.Fail("missing method");

    internal static void ThrowMissingFieldException() => GuestFailFast.Fail("missing field");

    internal static void ThrowFileNotFoundException() => GuestFailFast.Fail("file not found");

    internal static void ThrowBadImageFormatException() => GuestFailFast.Fail("bad image format");

    internal static void ThrowMarshalDirectiveException() => GuestFailFast.Fail("marshalling is not supported in a guest");

    internal static void ThrowAmbiguousMatchException() => GuestFailFast.Fail("ambiguous match");

    internal static void ThrowInvalidOperationException() => GuestFailFast.Fail("invalid operation");
}
