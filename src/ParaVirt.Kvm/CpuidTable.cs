using System;
using System.Runtime.InteropServices;
using ParaVirt.Abi;
using ParaVirt.Kvm.Interop;

namespace ParaVirt.Kvm;

/// <summary>
/// The CPUID the guest sees: what KVM supports on this host (KVM_GET_SUPPORTED_CPUID, read once
/// per process), with the hypervisor leaf 0x40000000 carrying ParaVirt's signature "ParaVirtHV\0\0"
/// and leaf 0x40000001 the ABI version. Applied to each vCPU with KVM_SET_CPUID2.
/// </summary>
internal static unsafe class CpuidTable
{
    private const int EntrySize = 40;
    private const int HeaderSize = 8;
    private static readonly object s_gate = new();
    private static byte[]? s_table;

    public static void Apply(KvmDevice kvm, int vcpuFd)
    {
        byte[] table = Get(kvm);
        fixed (byte* p = table)
            KvmException.Check(LibC.Ioctl(vcpuFd, KvmIoctl.SetCpuid2, p), "KVM_SET_CPUID2");
    }

    private static byte[] Get(KvmDevice kvm)
    {
        lock (s_gate)
        {
            if (s_table is not null)
                return s_table;
            for (int capacity = 128; ; capacity *= 2)
            {
                var buffer = new byte[HeaderSize + capacity * EntrySize];
                fixed (byte* p = buffer)
                {
                    *(uint*)p = (uint)capacity;
                    int rc = LibC.Ioctl(kvm.Fd, KvmIoctl.GetSupportedCpuid, p);
                    if (rc < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == 7 /* E2BIG */ && capacity < 4096)
                            continue;
                        throw new KvmException("KVM_GET_SUPPORTED_CPUID", errno);
                    }
                    int count = (int)*(uint*)p;
                    s_table = WithHypervisorLeaves(buffer, count);
                    return s_table;
                }
            }
        }
    }

    private static byte[] WithHypervisorLeaves(byte[] buffer, int count)
    {
        // Drop KVM's own 0x4000_00xx leaves and add ours.
        var entries = new System.Collections.Generic.List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            byte[] entry = buffer.AsSpan(HeaderSize + i * EntrySize, EntrySize).ToArray();
            uint function = BitConverter.ToUInt32(entry, 0);
            if ((function & 0xFFFF_FF00) != 0x4000_0000)
                entries.Add(entry);
        }
        entries.Add(Entry(HypervisorCpuid.SignatureLeaf, HypervisorCpuid.VersionLeaf, HypervisorCpuid.SignatureEbx, HypervisorCpuid.SignatureEcx, HypervisorCpuid.SignatureEdx));
        entries.Add(Entry(HypervisorCpuid.VersionLeaf, AbiVersion.Current, 0, 0, 0));
        var table = new byte[HeaderSize + entries.Count * EntrySize];
        BitConverter.TryWriteBytes(table.AsSpan(0, 4), (uint)entries.Count);
        for (int i = 0; i < entries.Count; i++)
            entries[i].CopyTo(table, HeaderSize + i * EntrySize);
        return table;
    }

    private static byte[] Entry(uint function, uint eax, uint ebx, uint ecx, uint edx)
    {
        var entry = new byte[EntrySize];
        BitConverter.TryWriteBytes(entry.AsSpan(0, 4), function);
        BitConverter.TryWriteBytes(entry.AsSpan(12, 4), eax);
        BitConverter.TryWriteBytes(entry.AsSpan(16, 4), ebx);
        BitConverter.TryWriteBytes(entry.AsSpan(20, 4), ecx);
        BitConverter.TryWriteBytes(entry.AsSpan(24, 4), edx);
        return entry;
    }
}
