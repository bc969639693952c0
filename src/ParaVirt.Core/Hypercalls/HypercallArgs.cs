using ParaVirt.Core.Cpu;

namespace ParaVirt.Core.Hypercalls;

/// <summary>The six hypercall arguments, taken from RDI, RSI, RDX, R10, R8, R9 (docs/abi.md).</summary>
public readonly struct HypercallArgs
{
    /// <summary>Argument registers in ABI order.</summary>
    public readonly ulong Arg0, Arg1, Arg2, Arg3, Arg4, Arg5;

    /// <summary>Creates arguments from values.</summary>
    public HypercallArgs(ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        Arg0 = a0; Arg1 = a1; Arg2 = a2; Arg3 = a3; Arg4 = a4; Arg5 = a5;
    }

    /// <summary>Reads the arguments from the registers by the ABI's convention.</summary>
    public static HypercallArgs FromRegisters(in Registers r) => new(r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9);
}

/// <summary>
/// A hypercall handler: runs on the vCPU thread, returns the value for RAX (negative:
/// a <see cref="ParaVirt.Abi.HypercallStatus"/>). Must not allocate per call on a hot path.
/// An exception stops the VM with the handler named.
/// </summary>
public delegate long HypercallHandler(Machine.VirtualMachine vm, in HypercallArgs args);
