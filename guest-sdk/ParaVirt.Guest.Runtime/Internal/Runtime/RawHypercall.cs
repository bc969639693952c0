using ParaVirt.Abi;

namespace Internal.Runtime;

/// <summary>
/// The runtime's own way into the hypervisor: a System V call to the stub at
/// <c>HypercallPage + number * HypercallPage.StubSize</c>. The SDK's typed wrappers build on it.
/// </summary>
public static unsafe class RawHypercall
{
    /// <summary>Calls hypercall <paramref name="number"/> with three arguments; a negative result is a <see cref="HypercallStatus"/>.</summary>
    public static long Call(Hypercall number, ulong arg0 = 0, ulong arg1 = 0, ulong arg2 = 0)
    {
        ulong page = GuestEnvironment.HypercallPage;
        if (page == 0)
            return (long)HypercallStatus.NotPermitted;
        var stub = (delegate* unmanaged<ulong, ulong, ulong, long>)(page + (ulong)number * ParaVirt.Abi.HypercallPage.StubSize);
        return stub(arg0, arg1, arg2);
    }

    /// <summary>Calls hypercall <paramref name="number"/> with six arguments.</summary>
    public static long Call6(Hypercall number, ulong arg0, ulong arg1, ulong arg2, ulong arg3, ulong arg4, ulong arg5)
    {
        ulong page = GuestEnvironment.HypercallPage;
        if (page == 0)
            return (long)HypercallStatus.NotPermitted;
        var stub = (delegate* unmanaged<ulong, ulong, ulong, ulong, ulong, ulong, long>)(page + (ulong)number * ParaVirt.Abi.HypercallPage.StubSize);
        return stub(arg0, arg1, arg2, arg3, arg4, arg5);
    }
}
