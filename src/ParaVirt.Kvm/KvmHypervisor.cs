using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ParaVirt.Core.Engine;
using ParaVirt.Kvm.Interop;

namespace ParaVirt.Kvm;

/// <summary>
/// The KVM engine: runs guests in hardware VMs through <c>/dev/kvm</c>, deprivileged at CPL3
/// with a host-built long-mode platform (see <see cref="Platform.KvmPlatform"/>).
/// </summary>
/// <example>
/// <code>
/// if (!KvmHypervisor.IsAvailable(out string why)) { Console.Error.WriteLine(why); return 1; }
/// using Machine machine = MachineBuilder.Create(new KvmHypervisor()).Build(); // or MachineBuilder.Create("kvm")
/// </code>
/// </example>
public sealed class KvmHypervisor : IHypervisor
{
    /// <summary>This engine's name, as <c>ParaVirt.Vmm.Engines</c> registers it and measurements report it.</summary>
    public const string EngineName = "kvm";

    /// <inheritdoc />
    public string Name => EngineName;

    /// <summary>Whether KVM can run ParaVirt guests here; if not, <paramref name="reason"/> says why in one line.</summary>
    public static bool IsAvailable(out string reason)
    {
        try
        {
            KvmDevice.Open();
            reason = "";
            return true;
        }
        catch (KvmUnavailableException ex)
        {
            reason = ex.Message;
            return false;
        }
    }

    /// <inheritdoc />
    /// <remarks>The device path, the KVM API version, the vCPU mmap size and every capability ParaVirt
    /// uses (marked when required). Throws <see cref="KvmUnavailableException"/> where KVM is not usable.</remarks>
    public IReadOnlyList<EngineFact> DescribeHost()
    {
        KvmDevice kvm = KvmDevice.Open();
        var facts = new List<EngineFact>
        {
            new("device", KvmDevice.Path),
            new("KVM API version", kvm.ApiVersion.ToString(CultureInfo.InvariantCulture)),
            new("vCPU mmap size", $"{kvm.VcpuMmapSize} bytes"),
        };
        foreach (KvmCapability capability in KvmDevice.Reported)
        {
            int value = kvm.Check(capability);
            string required = KvmDevice.Required.Contains(capability) ? ", required" : "";
            facts.Add(new($"capability {capability}", (value > 0 ? $"yes ({value})" : "no") + required));
        }
        return facts;
    }

    /// <inheritdoc />
    public IVmBackend CreateVm(in VmBackendOptions options) => new KvmVm(KvmDevice.Open(), options);

    private static readonly object s_probeGate = new();
    private static PlatformBehaviour? s_behaviour;

    /// <inheritdoc />
    /// <remarks>Probed once per process with two small VMs (see <see cref="PlatformProbe"/>); throws
    /// <see cref="KvmUnavailableException"/> where KVM is not usable, and is probed again next time.</remarks>
    public PlatformBehaviour Behaviour
    {
        get
        {
            lock (s_probeGate)
                return s_behaviour ??= PlatformProbe.Run();
        }
    }
}
