namespace ParaVirt.Core.Machine;

/// <summary>How a guest reaches privileged state and devices.</summary>
public enum VirtualizationMode
{
    /// <summary>Full virtualization: privileged instructions and device registers trap and are emulated.</summary>
    Full,

    /// <summary>Paravirtualization: explicit hypercalls, shared pages and virtqueue rings.</summary>
    Para,
}
