using ParaVirt.Abi;
using ParaVirt.Abi.Legacy;
using ParaVirt.Guest.Drivers;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// <c>console</c>: writes <c>operations</c> bytes of <see cref="WorkloadProtocol.ConsoleByte"/> to
/// the console device; one operation is one byte. Full mode: the 16550 UART driver with its FIFO
/// (one LSR check per 16 bytes, one THR write per byte, as Linux's 8250 driver). Para mode: the
/// virtio-console driver (4 KiB buffers, one doorbell per 32 KiB); with <c>console=async</c> on the
/// asynchronous transport (a doorbell per buffer without an exit, a device thread prints; waiting
/// by polling, or in <c>SchedOp(block)</c> with <c>wait=block</c>).
/// The host counts and checks every byte that arrives.
/// </summary>
internal static unsafe class ConsoleWorkload
{
    /// <summary>
    /// The command-line word that puts virtio-console on the asynchronous transport (para mode; the
    /// host must have given the transmit queue a doorbell: <c>MachineBuilder.WithAsyncConsole</c>).
    /// </summary>
    public const string AsyncWord = "console=async";

    public static int Run(long operations, StartInfo* info)
    {
#if PARAVIRT_FULL
        var uart = new Uart16550Driver(LegacyPorts.Com1);
        int s = uart.Initialize();
        if (s < 0)
            return Report.Failure("uart init", s, WorkloadProtocol.ExitDeviceInitFailed);
        byte* chunk = stackalloc byte[16];
        Measurement.Start(operations);
        for (long i = 0; i < operations && s >= 0; i += 16)
        {
            int n = operations - i < 16 ? (int)(operations - i) : 16;
            for (int j = 0; j < n; j++)
                chunk[j] = WorkloadProtocol.ConsoleByte(i + j);
            s = uart.Write(chunk, n);
        }
        Measurement.Stop(operations);
        return s < 0 ? Report.Failure("uart write", s, WorkloadProtocol.ExitIoFailed) : WorkloadProtocol.ExitOk;
#else
        ParaVirt.Guest.Virtio.VirtioTransportMode mode = WorkloadCommandLine.HasWord(info, AsyncWord)
            ? WaitOption.AsyncWait(info)
            : ParaVirt.Guest.Virtio.VirtioTransportMode.Hypercall;
        int s = VirtioConsoleDriver.Open(out VirtioConsoleDriver console, mode);
        if (s < 0)
            return Report.Failure("virtio-console init", s, WorkloadProtocol.ExitDeviceInitFailed);
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
        {
            if ((s = console.Write(WorkloadProtocol.ConsoleByte(i))) < 0)
                break;
        }
        if (s >= 0)
            s = console.Flush();
        Measurement.Stop(operations);
        return s < 0 ? Report.Failure("virtio-console write", s, WorkloadProtocol.ExitIoFailed) : WorkloadProtocol.ExitOk;
#endif
    }
}
