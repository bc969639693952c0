using System;
using System.IO;
using System.IO.Pipelines;
using System.Threading.Tasks;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;
using TemplateNamespace.Device;

// Runs the guest in a para-mode KVM machine with the entropy device attached, its console on
// stdout. Exit code: the guest's, or 69 when KVM is not usable, 70 when the guest did not shut down.
string image = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "guest.pvimg");
if (!Engines.IsAvailable(Engines.Default, out string why))
{
    Console.Error.WriteLine($"KVM is not usable here: {why}");
    return 69;
}

var console = new Pipe();
Task copy = console.Reader.CopyToAsync(Console.OpenStandardOutput());
EntropyDevice? device = null;
VmStopReason stop;
using (Machine machine = MachineBuilder.Create()
    .WithMode(VirtualizationMode.Para)                                // virtio-console is device 0
    .WithConsole(console.Writer)
    .WithVirtioDevice(memory => device = new EntropyDevice(memory))   // device 1
    .WithImage(image)
    .Build())
{
    stop = machine.Run(TimeSpan.FromSeconds(30));
}
console.Writer.Complete();
await copy;

Console.Error.WriteLine($"-- {stop.Kind} (exit code {stop.ExitCode}): the device delivered {device!.BytesDelivered} bytes");
return stop.Kind == VmStopKind.GuestShutdown ? stop.ExitCode : 70;
