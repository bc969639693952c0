namespace ParaVirt.Core.Engine;

/// <summary>
/// Host access to a KVM vCPU's model-specific registers and TSC frequency (KVM_GET_MSRS,
/// KVM_SET_MSRS, KVM_GET_TSC_KHZ). The CPU virtualization layer uses it to read the guest's TSC
/// for the PV clock. Obtain it with <c>vm.GetVcpuFeature&lt;IVcpuMsrAccess&gt;()</c>.
/// </summary>
/// <example><code>
/// if (vm.GetVcpuFeature&lt;IVcpuMsrAccess&gt;() is { } msrs &amp;&amp; msrs.TryReadMsr(0x10, out ulong tsc)) { /* guest TSC */ }
/// </code></example>
public interface IVcpuMsrAccess
{
    /// <summary>Reads MSR <paramref name="index"/> of the guest's vCPU; false if KVM refuses it.</summary>
    bool TryReadMsr(uint index, out ulong value);

    /// <summary>Writes MSR <paramref name="index"/> of the guest's vCPU; false if KVM refuses it.</summary>
    bool TryWriteMsr(uint index, ulong value);

    /// <summary>The guest TSC frequency in kHz as KVM reports it, or 0 if unknown.</summary>
    long TscKhz { get; }
}
