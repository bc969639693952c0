using ParaVirt.Guest.Drivers;
using ParaVirt.Workloads;

namespace Workloads;

/// <summary>
/// <c>console</c>: writes <c>operations</c> bytes of <see cref="WorkloadProtocol.ConsoleByte"/> to
/// the console device; one operation is one byte. Full mode: the 16550 UART driver (LSR poll + THR
/// write per byte). Para mode: the virtio-console driver (4 KiB buffers, one doorbell per 32 KiB).
/// The host counts and checks every byte that arrives.
/// </summary>
internal static unsafe class ConsoleWorkload
{
    public static int Run(long operations)
    {
#if PARAVIRT_FULL
        var uart = new Uart16550Driver(0x3F8);
        int s = uart.Initialize();
        if (s < 0)
            return Report.Failure("uart init", s, WorkloadProtocol.ExitDeviceInitFailed);
        Measurement.Start(operations);
        for (long i = 0; i < operations; i++)
        {
            if ((s = uart.WriteByte(WorkloadProtocol.ConsoleByte(i))) < 0)
                break;
        }
        Measurement.Stop(operations);
        return s < 0 ? Report.Failure("uart write", s, WorkloadProtocol.ExitIoFailed) : WorkloadProtocol.ExitOk;
#else
        int s = VirtioConsoleDriver.Open(out VirtioConsoleDriver console);
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
