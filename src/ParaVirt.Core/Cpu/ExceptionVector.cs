#pragma warning disable CS1591 // vector names are their own documentation

namespace ParaVirt.Core.Cpu;

/// <summary>x86 exception vectors (Intel SDM vol. 3, table 6-1).</summary>
public enum ExceptionVector : byte
{
    DivideError = 0,
    Debug = 1,
    Nmi = 2,
    Breakpoint = 3,
    Overflow = 4,
    BoundRange = 5,
    InvalidOpcode = 6,
    DeviceNotAvailable = 7,
    DoubleFault = 8,
    InvalidTss = 10,
    SegmentNotPresent = 11,
    StackFault = 12,
    GeneralProtection = 13,
    PageFault = 14,
    FloatingPoint = 16,
    AlignmentCheck = 17,
    MachineCheck = 18,
    SimdFloatingPoint = 19,
    Virtualization = 20,
    ControlProtection = 21,
}

/// <summary>Helpers for exception vectors.</summary>
public static class ExceptionVectors
{
    /// <summary>Whether the CPU pushes an error code for <paramref name="vector"/>.</summary>
    public static bool HasErrorCode(byte vector) => vector is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21;

    /// <summary>The mnemonic (#GP, #PF, ...) of a vector.</summary>
    public static string Mnemonic(byte vector) => vector switch
    {
        0 => "#DE", 1 => "#DB", 2 => "NMI", 3 => "#BP", 4 => "#OF", 5 => "#BR", 6 => "#UD", 7 => "#NM",
        8 => "#DF", 10 => "#TS", 11 => "#NP", 12 => "#SS", 13 => "#GP", 14 => "#PF", 16 => "#MF",
        17 => "#AC", 18 => "#MC", 19 => "#XM", 20 => "#VE", 21 => "#CP",
        _ => $"vector {vector}",
    };
}
