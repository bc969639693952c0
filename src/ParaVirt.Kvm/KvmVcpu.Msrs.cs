using ParaVirt.Core.Engine;
using ParaVirt.Kvm.Interop;

namespace ParaVirt.Kvm;

/// <summary>MSR access for the host (KVM_GET_MSRS / KVM_SET_MSRS with one entry, KVM_GET_TSC_KHZ).</summary>
internal sealed unsafe partial class KvmVcpu
{
    /// <summary><c>struct kvm_msrs</c> with one <c>struct kvm_msr_entry</c> (8 + 16 bytes).</summary>
    private struct OneMsr
    {
        public uint Count, Pad, Index, Reserved;
        public ulong Data;
    }

    public bool TryReadMsr(uint index, out ulong value)
    {
        var m = new OneMsr { Count = 1, Index = index };
        // KVM_GET_MSRS returns the number of entries read.
        bool ok = _fd > 0 && LibC.Ioctl(_fd, KvmIoctl.GetMsrs, &m) == 1;
        value = ok ? m.Data : 0;
        return ok;
    }

    public bool TryWriteMsr(uint index, ulong value)
    {
        var m = new OneMsr { Count = 1, Index = index, Data = value };
        return _fd > 0 && LibC.Ioctl(_fd, KvmIoctl.SetMsrs, &m) == 1;
    }

    public long TscKhz
    {
        get
        {
            int khz = _fd > 0 ? LibC.Ioctl(_fd, KvmIoctl.GetTscKhz, 0) : -1;
            return khz > 0 ? khz : 0;
        }
    }
}
