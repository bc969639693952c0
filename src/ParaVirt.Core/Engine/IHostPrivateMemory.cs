using ParaVirt.Core.Memory;

namespace ParaVirt.Core.Engine;

/// <summary>
/// An engine feature of a VM: guest-physical memory that belongs to the host. It sits in its own
/// memory slot outside guest RAM, outside the MMIO window and outside every mapping the platform
/// builds, so the guest can neither see it nor map it (the MMU refuses any mapping of a frame that
/// is not guest RAM). The hardware can still walk page tables placed there, which is what it is
/// for: shadow page tables and the 4 KiB tables that split the platform's 2 MiB identity map.
/// Obtain it with <c>vm.GetVmFeature&lt;IHostPrivateMemory&gt;()</c>; <see cref="HostPagePool"/>
/// hands its pages out.
/// </summary>
/// <example><code>
/// GuestMemory pool = vm.GetVmFeature&lt;IHostPrivateMemory&gt;()!.PrivateMemory;
/// var pages = new HostPagePool(pool);
/// if (pages.TryAllocate(out ulong table)) { /* a zeroed 4 KiB table at guest-physical 'table' */ }
/// </code></example>
public interface IHostPrivateMemory
{
    /// <summary>
    /// The private memory: one region at a guest-physical address above guest RAM and the MMIO
    /// window (<see cref="GuestMemory.Regions"/>[0].GuestAddress). Empty (null) when the VM was
    /// created without private memory (<see cref="VmBackendOptions.PrivateMemorySize"/> 0).
    /// </summary>
    GuestMemory? PrivateMemory { get; }
}
