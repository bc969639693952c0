using System;

namespace ParaVirt.Core.Engine;

/// <summary>
/// An engine feature: doorbells the guest rings with a one-byte <c>out</c> to a port, handled by the
/// engine without an exit to userspace (KVM's ioeventfd). A device thread waits on the doorbell and
/// does the work while the vCPU runs on. Obtain it with <c>vm.GetVmFeature&lt;IDoorbellProvider&gt;()</c>.
/// The port must also be open in the VM's I/O bitmap (<see cref="Machine.VmOptions.OpenPorts"/>).
/// </summary>
/// <example>
/// <code>
/// using Doorbell bell = vm.GetVmFeature&lt;IDoorbellProvider&gt;()!.CreatePortDoorbell(0x600);
/// var worker = new Thread(() => { while (bell.Wait() is long rings and > 0) queue.Process(); });
/// </code>
/// </example>
public interface IDoorbellProvider
{
    /// <summary>Makes one-byte writes to <paramref name="port"/> ring a new doorbell instead of exiting.</summary>
    Doorbell CreatePortDoorbell(ushort port);
}

/// <summary>One doorbell. <see cref="Wait"/> is for one waiting thread; <see cref="Dispose"/> may come from another.</summary>
public abstract class Doorbell : IDisposable
{
    /// <summary>The port the guest writes to.</summary>
    public abstract ushort Port { get; }

    /// <summary>
    /// Blocks until the doorbell has rung, and returns how many times it rang since the last call
    /// (rings coalesce). Returns 0 once the doorbell is disposed. Disposing the VM wakes a waiter
    /// with 0, and the engine releases the doorbell's handle only after the waiter has left.
    /// </summary>
    public abstract long Wait();

    /// <summary>Rings the doorbell from the host (wakes a waiter), as if the guest had.</summary>
    public abstract void Ring();

    /// <summary>Detaches the doorbell from the port (writes exit to userspace again) and wakes a waiter with 0.</summary>
    public abstract void Dispose();
}
