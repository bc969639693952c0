using System;
using System.Collections.Generic;
using System.IO.Pipelines;
using System.Text;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Storage;
using ParaVirt.Cpu;
using ParaVirt.Devices.Emulated;
using ParaVirt.Devices.Emulated.Timing;
using ParaVirt.Devices.Virtio;
using ParaVirt.Image;

namespace ParaVirt.Vmm;

/// <summary>
/// The one place that assembles a machine: creates the VM on an engine, attaches the platform of a
/// mode with CPU virtualization, sets the command line and loads the image. Every device has one
/// owner, this builder:
/// <list type="bullet">
/// <item>full mode: the PC platform (<see cref="LegacyPlatform"/>: PIT, CMOS RTC, 16550 UART on COM1,
/// and with a disk the ATA PIO primary master), its ports open in the I/O bitmap; CPU
/// virtualization (trap-and-emulate) is handed the PIT and RTC, on the same clock;</item>
/// <item>para mode: the virtio transport with virtio-console (device 0) and, with a disk,
/// virtio-blk (device 1), no ports open; CPU virtualization's paravirtual replacements;</item>
/// <item>no mode: a bare machine, the standard hypercalls only, for engine-level work.</item>
/// </list>
/// </summary>
/// <example><code>
/// using DiskImage disk = DiskImage.Open("disk.img");
/// using Machine machine = MachineBuilder.Create()            // the default engine, kvm
///     .WithMemory(32UL &lt;&lt; 20)
///     .WithMode(VirtualizationMode.Para)
///     .WithConsole(pipe.Writer)
///     .WithDisk(disk)
///     .WithCommandLine("blk-read 64")
///     .WithImage(PvImageReader.ReadFile("Workloads.Para.pvimg"))
///     .Build();
/// VmStopReason stop = machine.Run(TimeSpan.FromSeconds(60));
/// </code></example>
public sealed class MachineBuilder
{
    private readonly IHypervisor _engine;
    private ulong _memorySize = new VmOptions().MemorySize;
    private ulong _privateMemorySize = new VmOptions().PrivateMemorySize;
    private VirtualizationMode? _mode;
    private PipeWriter? _consoleOutput;
    private PipeReader? _consoleInput;
    private DiskImage? _disk;
    private IReadOnlyList<ushort>? _openPorts;
    private long _nullHypercallValue;
    private ReadOnlyMemory<byte> _commandLine = ReadOnlyMemory<byte>.Empty;
    private PvImage? _image;
    private ulong _stackSize = ImageLoader.DefaultStackSize;

    private MachineBuilder(IHypervisor engine) => _engine = engine;

    /// <summary>Starts a machine on the engine named <paramref name="engineName"/> (<see cref="Engines.Default"/> when null).</summary>
    /// <exception cref="ArgumentException">No engine has that name.</exception>
    public static MachineBuilder Create(string? engineName = null) => new(Engines.Create(engineName));

    /// <summary>Starts a machine on <paramref name="engine"/> (a test's fake engine, or one already created).</summary>
    public static MachineBuilder Create(IHypervisor engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return new MachineBuilder(engine);
    }

    /// <summary>Takes RAM size, host-private memory size, console pipes, open ports and the null hypercall's value from <paramref name="options"/> (a bare machine's whole set-up).</summary>
    public MachineBuilder WithVmOptions(VmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _memorySize = options.MemorySize;
        _privateMemorySize = options.PrivateMemorySize;
        _consoleOutput = options.ConsoleOutput;
        _consoleInput = options.ConsoleInput;
        _openPorts = options.OpenPorts;
        _nullHypercallValue = options.NullHypercallValue;
        return this;
    }

    /// <summary>Bytes of guest RAM, a multiple of 2 MiB (default 16 MiB).</summary>
    public MachineBuilder WithMemory(ulong bytes)
    {
        _memorySize = bytes;
        return this;
    }

    /// <summary>Builds the platform of <paramref name="mode"/> and attaches CPU virtualization for it. Without a mode the machine is bare.</summary>
    public MachineBuilder WithMode(VirtualizationMode mode)
    {
        _mode = mode;
        return this;
    }

    /// <summary>Where the guest console goes (null: counted and dropped) and where its input comes from.</summary>
    public MachineBuilder WithConsole(PipeWriter? output, PipeReader? input = null)
    {
        _consoleOutput = output;
        _consoleInput = input;
        return this;
    }

    /// <summary>The disk of the mode's disk device (ATA PIO in full mode, virtio-blk in para mode); null for none. The caller keeps ownership.</summary>
    public MachineBuilder WithDisk(DiskImage? disk)
    {
        _disk = disk;
        return this;
    }

    /// <summary>Replaces the platform's open ports (full mode: the PC devices' ports; otherwise none): accesses to other ports trap.</summary>
    public MachineBuilder WithOpenPorts(IReadOnlyList<ushort> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        _openPorts = ports;
        return this;
    }

    /// <summary>The guest's command line (StartInfo.CommandLine), UTF-8.</summary>
    public MachineBuilder WithCommandLine(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        _commandLine = Encoding.UTF8.GetBytes(commandLine);
        return this;
    }

    /// <summary>The guest's command line as bytes (at most <see cref="VirtualMachine.MaxCommandLine"/>).</summary>
    public MachineBuilder WithCommandLine(ReadOnlyMemory<byte> commandLine)
    {
        _commandLine = commandLine;
        return this;
    }

    /// <summary>The image to load; <see cref="Build"/> places it and prepares the entry (<see cref="ImageLoader"/>).</summary>
    public MachineBuilder WithImage(PvImage image, ulong stackSize = ImageLoader.DefaultStackSize)
    {
        ArgumentNullException.ThrowIfNull(image);
        _image = image;
        _stackSize = stackSize;
        return this;
    }

    /// <summary>The image in the .pvimg file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidImageException">The file is not a valid image.</exception>
    public MachineBuilder WithImage(string path) => WithImage(PvImageReader.ReadFile(path));

    /// <summary>Creates the VM, its platform, its CPU virtualization, and loads the image.</summary>
    /// <exception cref="InvalidOperationException">A disk without a mode (the mode decides the disk device).</exception>
    /// <exception cref="InvalidImageException">The image does not fit this machine's RAM.</exception>
    public Machine Build()
    {
        if (_disk is not null && _mode is null)
            throw new InvalidOperationException("a disk needs a mode: the mode decides the disk device");
        var options = new VmOptions
        {
            MemorySize = _memorySize,
            PrivateMemorySize = _privateMemorySize,
            ConsoleOutput = _consoleOutput,
            ConsoleInput = _consoleInput,
            OpenPorts = _openPorts ?? (_mode == VirtualizationMode.Full ? LegacyPlatform.PortsFor(withDisk: _disk is not null) : Array.Empty<ushort>()),
            NullHypercallValue = _nullHypercallValue,
        };
        var vm = new VirtualMachine(_engine, options);
        try
        {
            LegacyDevices? legacy = null;
            VirtioTransport? virtio = null;
            VirtualCpu? cpu = null;
            ParaVirt.Mmu.Para.ParaMmu? paraMmu = null;
            if (_mode is { } mode)
            {
                // One clock is the VM's system time: the PIT counts on it, so CPU virtualization knows its deadlines.
                var clock = new SystemClock();
                if (mode == VirtualizationMode.Full)
                    legacy = LegacyPlatform.Attach(vm, _disk, clock);
                else
                {
                    virtio = VirtioTransport.Attach(vm);
                    virtio.Add(new VirtioConsole(vm.WritableMemory, vm.Console));
                    if (_disk is not null)
                        virtio.Add(new VirtioBlock(vm.WritableMemory, _disk));
                }
                cpu = CpuVirtualization.Attach(vm, mode, clock, legacy?.Pit, legacy?.Rtc);
                if (mode == VirtualizationMode.Full)
                    ShadowPaging.TryAttach(vm, cpu); // the guest's own page tables, shadowed (docs/memory-virtualization.md)
                // Para mode's direct paging, where the engine can control the guest's paging.
                if (mode == VirtualizationMode.Para && ParaVirt.Mmu.Para.ParaMmu.IsSupported(vm))
                    paraMmu = ParaVirt.Mmu.Para.ParaMmu.Attach(vm);
            }
            vm.CommandLine = _commandLine;
            LoadedImage? loaded = _image is null ? null : ImageLoader.Load(vm, _image, _stackSize);
            return new Machine(vm, _mode, cpu, legacy, virtio, loaded) { ParaMmu = paraMmu };
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }
}
