using System;

namespace ParaVirt.Core.Engine;

/// <summary>
/// An engine: the only layer that knows how a vCPU really runs (KVM, or the in-process managed
/// engine). The core drives every engine through these three interfaces.
/// </summary>
public interface IHypervisor
{
    /// <summary>The engine name reported with every measurement ("kvm").</summary>
    string Name { get; }

    /// <summary>Creates a VM backend with the given RAM and platform set-up.</summary>
    IVmBackend CreateVm(in VmBackendOptions options);

    /// <summary>
    /// How this host behaves for the guest behaviours ParaVirt relies on (does <c>cpuid</c> trap,
    /// how string I/O exits), probed with small guests the first time it is asked and then kept
    /// for the process.
    /// </summary>
    PlatformBehaviour Behaviour { get; }

    /// <summary>
    /// What the engine knows about itself on this host (its device, versions, capabilities), one
    /// <see cref="EngineFact"/> per line, for <c>paravirt info</c>. Called only where the engine is
    /// available; an engine with nothing to say returns an empty list.
    /// </summary>
    System.Collections.Generic.IReadOnlyList<EngineFact> DescribeHost() => [];
}

/// <summary>What an engine needs to create a VM.</summary>
/// <param name="MemorySize">Bytes of guest RAM at guest address 0.</param>
/// <param name="OpenPorts">Ports the guest may access directly (opened in the I/O permission bitmap); the hypercall port is always open.</param>
/// <param name="PrivateMemorySize">Bytes of host-private memory (<see cref="IHostPrivateMemory"/>), a multiple of 4 KiB; 0 for none.</param>
public readonly record struct VmBackendOptions(ulong MemorySize, ReadOnlyMemory<ushort> OpenPorts, ulong PrivateMemorySize = 0);

/// <summary>One VM inside an engine: its memory, its platform layout, its vCPUs.</summary>
public interface IVmBackend : IDisposable
{
    /// <summary>Guest RAM, mapped into the VM.</summary>
    Memory.GuestMemory Memory { get; }

    /// <summary>Where the engine put its platform pages and which RAM the guest may use.</summary>
    PlatformLayout Layout { get; }

    /// <summary>Creates vCPU number <paramref name="index"/>.</summary>
    IVcpuBackend CreateVcpu(int index);
}

/// <summary>
/// A vCPU inside an engine. <see cref="Run"/> executes the guest until its next exit. Called from
/// one thread (the vCPU thread), except <see cref="Kick"/>, which any thread may call.
/// </summary>
public interface IVcpuBackend : IDisposable
{
    /// <summary>
    /// The guest's general registers as of the last exit; changes are given to the guest at the
    /// next <see cref="Run"/>. On a trap exit, RIP, RSP and RFLAGS are the guest's at the fault.
    /// </summary>
    ref Cpu.Registers Registers { get; }

    /// <summary>Runs the guest until it exits, and describes the exit in <paramref name="exit"/>. Allocates nothing.</summary>
    void Run(ref Cpu.VcpuExit exit);

    /// <summary>Makes the vCPU leave the guest soon with <see cref="Cpu.ExitReason.Interrupted"/>; thread-safe, idempotent until the next run.</summary>
    void Kick();

    /// <summary>Forgets a pending kick and the thread that ran the vCPU; called when a run starts and when it ends.</summary>
    void ClearKick();

    /// <summary>
    /// Withdraws a kick that arrived while the vCPU was out of the guest, before it re-enters
    /// (thread-safe; a kick after this call still takes effect). Called when whatever the kick was
    /// for has been handled on the way back in. An engine that cannot withdraw one keeps this
    /// default: the kick then costs one spurious <see cref="Cpu.ExitReason.Interrupted"/> exit.
    /// </summary>
    void CancelKick() { }

    /// <summary>Reads a control register of the guest's (virtual) CPU state for diagnostics (0, 2, 3, 4).</summary>
    ulong ReadControlRegister(int index);

    /// <summary>
    /// Puts the vCPU into the platform's entry state before a new guest entry: CPL3 with the user
    /// code and data selectors, general registers cleared, and nothing left of an earlier run (an
    /// exception the engine was in the middle of reporting, an instruction it would complete).
    /// Called on the vCPU's thread while it is not running.
    /// </summary>
    void ResetForEntry();
}
