using System;
using System.Collections.Generic;
using System.IO;
using ParaVirt.Kvm.Interop;

namespace ParaVirt.Kvm;

/// <summary>
/// The process-wide handle on <c>/dev/kvm</c>: its API version, capabilities and the vCPU mmap size.
/// Opened once and kept for the process's life (every VM is created through it).
/// </summary>
public sealed class KvmDevice
{
    /// <summary>The device path.</summary>
    public const string Path = "/dev/kvm";

    /// <summary>Capabilities the engine cannot run without.</summary>
    public static readonly IReadOnlyList<KvmCapability> Required = [KvmCapability.UserMemory, KvmCapability.SyncRegs, KvmCapability.ImmediateExit];

    /// <summary>Capabilities <c>paravirt info</c> reports.</summary>
    public static readonly IReadOnlyList<KvmCapability> Reported = Enum.GetValues<KvmCapability>();

    private static readonly object s_gate = new();
    private static KvmDevice? s_instance;

    private KvmDevice(int fd, int apiVersion, int vcpuMmapSize)
    {
        Fd = fd;
        ApiVersion = apiVersion;
        VcpuMmapSize = vcpuMmapSize;
    }

    internal int Fd { get; }

    /// <summary>KVM_GET_API_VERSION (12 on every supported kernel).</summary>
    public int ApiVersion { get; }

    /// <summary>KVM_GET_VCPU_MMAP_SIZE: bytes of each vCPU's kvm_run mapping.</summary>
    public int VcpuMmapSize { get; }

    /// <summary>KVM_CHECK_EXTENSION: 0 when absent, otherwise a capability-specific positive value.</summary>
    public int Check(KvmCapability capability)
    {
        int result = LibC.Ioctl(Fd, KvmIoctl.CheckExtension, (nint)capability);
        return result < 0 ? 0 : result;
    }

    /// <summary>Opens <c>/dev/kvm</c> once, or throws <see cref="KvmUnavailableException"/> with a one-line reason.</summary>
    public static KvmDevice Open()
    {
        lock (s_gate)
        {
            if (s_instance is not null)
                return s_instance;
            if (!OperatingSystem.IsLinux() || Environment.Is64BitProcess is false || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
                throw new KvmUnavailableException("KVM needs Linux on x86-64; this is " + System.Runtime.InteropServices.RuntimeInformation.OSDescription);
            if (!File.Exists(Path))
                throw new KvmUnavailableException($"{Path} does not exist: KVM is absent (no kvm module, or virtualization is disabled)");
            int fd = LibC.Open(Path, LibC.O_RDWR | LibC.O_CLOEXEC);
            if (fd < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                throw new KvmUnavailableException(errno is LibC.EACCES or LibC.EPERM
                    ? $"no permission to open {Path}: run as root or add your user to the 'kvm' group"
                    : $"cannot open {Path}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
            }
            int version = LibC.Ioctl(fd, KvmIoctl.GetApiVersion, 0);
            if (version != KvmIoctl.ExpectedApiVersion)
            {
                LibC.Close(fd);
                throw new KvmUnavailableException($"KVM API version {version} is not the supported {KvmIoctl.ExpectedApiVersion}: the kernel is too old");
            }
            int mmapSize = LibC.Ioctl(fd, KvmIoctl.GetVcpuMmapSize, 0);
            var device = new KvmDevice(fd, version, mmapSize);
            foreach (KvmCapability capability in Required)
            {
                if (device.Check(capability) <= 0)
                {
                    LibC.Close(fd);
                    throw new KvmUnavailableException($"KVM lacks the capability {capability} (KVM_CAP_{capability}): the kernel is too old");
                }
            }
            if (mmapSize < 4096)
            {
                LibC.Close(fd);
                throw new KvmUnavailableException($"KVM reports a vCPU mmap size of {mmapSize}");
            }
            s_instance = device;
            return device;
        }
    }
}

/// <summary>KVM cannot be used on this machine; the message says why in one line.</summary>
public sealed class KvmUnavailableException(string message) : Exception(message);
