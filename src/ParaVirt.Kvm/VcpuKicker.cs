using System;
using System.Runtime.InteropServices;
using ParaVirt.Kvm.Interop;

namespace ParaVirt.Kvm;

/// <summary>
/// Forces a vCPU thread out of <c>KVM_RUN</c>: the kicker sets <c>kvm_run.immediate_exit</c> and
/// sends the thread a real-time signal whose handler does nothing (as Firecracker and rust-vmm's
/// vmm-sys-util do), so <c>KVM_RUN</c> returns <c>EINTR</c>.
/// </summary>
/// <remarks>
/// The handler is a single <c>ret</c> in an executable page this class maps: a signal handler
/// must not run managed code. The signal is installed without SA_RESTART, once per process.
/// </remarks>
internal static unsafe class VcpuKicker
{
    private static readonly object s_gate = new();
    private static int s_signal;

    /// <summary>The signal number used for kicks (installed on first use).</summary>
    public static int Signal
    {
        get
        {
            lock (s_gate)
            {
                if (s_signal == 0)
                    s_signal = Install();
                return s_signal;
            }
        }
    }

    private static int Install()
    {
        // SIGRTMIN is used by the .NET runtime for activation injection; stay well clear of it.
        int signal = LibC.SigRtMax() - 2;
        nint page = LibC.Mmap(0, 4096, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0);
        if (page == -1)
            throw new KvmException("mmap (kick handler)", Marshal.GetLastPInvokeError());
        *(byte*)page = 0xC3; // ret
        KvmException.Check(LibC.Mprotect(page, 4096, LibC.PROT_READ | LibC.PROT_EXEC), "mprotect (kick handler)");
        var action = new LibC.SigAction { Handler = page, Flags = 0 };
        KvmException.Check(LibC.Sigaction(signal, &action, null), "sigaction (kick signal)");
        return signal;
    }

    /// <summary>Sends the kick signal to <paramref name="thread"/> (a pthread_t).</summary>
    public static void Kick(nuint thread)
    {
        if (thread != 0)
            _ = LibC.PthreadKill(thread, Signal);
    }
}
