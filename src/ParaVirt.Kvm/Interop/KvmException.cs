using System;
using System.Runtime.InteropServices;

namespace ParaVirt.Kvm.Interop;

/// <summary>A KVM or libc call failed. Every interop result is checked in one place: <see cref="Check"/>.</summary>
public sealed class KvmException : Exception
{
    /// <summary>Creates an exception for <paramref name="operation"/> failing with <paramref name="errno"/>.</summary>
    public KvmException(string operation, int errno)
        : base($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>The call that failed ("KVM_CREATE_VM").</summary>
    public string Operation { get; }

    /// <summary>The errno it returned.</summary>
    public int Errno { get; }

    /// <summary>Returns <paramref name="result"/>, or throws with the current errno when it is negative.</summary>
    internal static int Check(int result, string operation)
    {
        if (result < 0)
            throw new KvmException(operation, Marshal.GetLastPInvokeError());
        return result;
    }
}
