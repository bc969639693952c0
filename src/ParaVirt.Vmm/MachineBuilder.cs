using System;
using System.Collections.Generic;
using System.IO.Pipelines;
using System.Linq;
using System.Text;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;
using ParaVirt.Core.Storage;
using ParaVirt.Cpu;
using ParaVirt.Abi.Legacy;
using ParaVirt.Abi.Nvme;
using ParaVirt.Devices.Emulated;
using ParaVirt.Devices.Emulated.Nvme;
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
/// and with a disk the ATA primary master, in PIO or with bus-master DMA), its ports open in the I/O bitmap,
/// or with <see cref="DiskInterface.Nvme"/> an NVMe controller on the MMIO bus (<c>NvmeRegisters.BarBase</c>,
/// interrupt line <c>NvmeRegisters.InterruptLine</c>); CPU
/// virtualization (trap-and-emulate) is handed the PIT and RTC, on the same clock;</item>
/// <item>para mode: the virtio transport with virtio-console (device 0) and, with a disk,
/// virtio-blk (device 1), then the caller's devices (<see cref="WithVirtioDevice"/>) in the order
/// given, no ports open but the asynchronous transport's doorbells (virtio-blk-async,
/// <see cref="WithAsyncConsole"/>); CPU virtualization's paravirtual replacements;</item>
/// <item>the disk's device is the mode's default or the <see cref="DiskInterface"/> given to
/// <see cref="WithDisk(DiskImage, DiskInterface)"/>; each mode has one attach method with one arm per device;</item>
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
    private DiskInterface? _diskInterface;
    private IReadOnlyList<ushort>? _openPorts;
    private long _nullHypercallValue;
    private ReadOnlyMemory<byte> _commandLine = ReadOnlyMemory<byte>.Empty;
    private PvImage? _image;
    private ulong _stackSize = ImageLoader.DefaultStackSize;
    private readonly List<Func<GuestMemory, VirtioDevice>> _virtioDevices = [];
    private bool _asyncConsole;

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

    /// <summary>The disk of the mode's default disk device (<see cref="DiskInterfaces.DefaultFor"/>: ATA PIO in full mode, virtio-blk in para mode); null for none. The caller keeps ownership.</summary>
    public MachineBuilder WithDisk(DiskImage? disk)
    {
        _disk = disk;
        _diskInterface = null;
        return this;
    }

    /// <summary>
    /// The disk behind <paramref name="diskInterface"/>, which must be a device of the machine's mode
    /// (<see cref="DiskInterfaces.ModeOf"/>; <see cref="Build"/> refuses a mismatch). The caller keeps ownership.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="diskInterface"/> is not a defined interface.</exception>
    public MachineBuilder WithDisk(DiskImage disk, DiskInterface diskInterface)
    {
        ArgumentNullException.ThrowIfNull(disk);
        _ = DiskInterfaces.ModeOf(diskInterface); // validates the value
        _disk = disk;
        _diskInterface = diskInterface;
        return this;
    }

    /// <summary>
    /// Adds a virtio device of the caller's (para mode only) on the machine's transport, after the
    /// built-in ones: <paramref name="create"/> is called by <see cref="Build"/> with the VM's
    /// guest-writable memory (the transport's), which the device's rings and buffers must lie in.
    /// Devices get transport indexes in the order they are added (virtio-console is 0, virtio-blk 1
    /// when there is a disk). What <paramref name="create"/> throws, <see cref="Build"/> throws,
    /// after disposing the VM.
    /// </summary>
    /// <example><code>
    /// builder.WithMode(VirtualizationMode.Para).WithVirtioDevice(memory =&gt; new EntropyDevice(memory, ""));
    /// </code></example>
    public MachineBuilder WithVirtioDevice(Func<GuestMemory, VirtioDevice> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        _virtioDevices.Add(create);
        return this;
    }

    /// <summary>
    /// Para mode: virtio-console's transmit queue gets the asynchronous transport too, a doorbell on
    /// <see cref="AsyncConsoleDoorbellPort"/> served by a device thread that raises
    /// <see cref="AsyncConsoleEventChannel"/>. The driver chooses it at open (hypercall 25); until
    /// then, and after a reset, the synchronous transport serves the same queue.
    /// </summary>
    /// <example><code>
    /// builder.WithMode(VirtualizationMode.Para).WithAsyncConsole().WithCommandLine("console 65536 console=async");
    /// </code></example>
    public MachineBuilder WithAsyncConsole(bool enabled = true)
    {
        _asyncConsole = enabled;
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
    /// <exception cref="InvalidOperationException">A disk without a mode (the mode decides the disk device), a disk interface of the other mode, or a virtio device or an asynchronous console outside para mode.</exception>
    /// <exception cref="NotSupportedException">virtio-blk-async or an asynchronous console on an engine without doorbells.</exception>
    /// <exception cref="InvalidImageException">The image does not fit this machine's RAM.</exception>
    public Machine Build()
    {
        DiskInterface? diskInterface = ResolveDiskInterface();
        bool ataDisk = diskInterface is DiskInterface.AtaPio or DiskInterface.IdeDma;
        if (_virtioDevices.Count > 0 && _mode != VirtualizationMode.Para)
            throw new InvalidOperationException("virtio devices need para mode (the virtio transport is para mode's)");
        if (_asyncConsole && _mode != VirtualizationMode.Para)
            throw new InvalidOperationException("an asynchronous console needs para mode (it is virtio-console's transmit queue)");
        var options = new VmOptions
        {
            MemorySize = _memorySize,
            PrivateMemorySize = _privateMemorySize,
            ConsoleOutput = _consoleOutput,
            ConsoleInput = _consoleInput,
            OpenPorts = WithDoorbellPorts(_openPorts ?? (_mode == VirtualizationMode.Full ? LegacyPlatform.PortsFor(withDisk: ataDisk, withBusMaster: diskInterface == DiskInterface.IdeDma) : Array.Empty<ushort>()), diskInterface),
            NullHypercallValue = _nullHypercallValue,
        };
        var vm = new VirtualMachine(_engine, options);
        try
        {
            LegacyDevices? legacy = null;
            VirtioTransport? virtio = null;
            VirtualCpu? cpu = null;
            NvmeController? nvme = null;
            ParaVirt.Mmu.Para.ParaMmu? paraMmu = null;
            int diskDevice = -1;
            if (_mode is { } mode)
            {
                // One clock is the VM's system time: the PIT counts on it, so CPU virtualization knows its deadlines.
                var clock = new SystemClock();
                if (mode == VirtualizationMode.Full)
                {
                    legacy = LegacyPlatform.Attach(vm, ataDisk ? _disk : null, clock, wallTime: null, busMasterDma: diskInterface == DiskInterface.IdeDma);
                    nvme = AttachFullModeDisk(vm, diskInterface);
                }
                else
                {
                    virtio = VirtioTransport.Attach(vm);
                    virtio.Add(new VirtioConsole(vm.WritableMemory, vm.Console));
                    diskDevice = virtio.Devices.Count;
                    AttachParaModeDisk(virtio, vm, diskInterface);
                    foreach (Func<GuestMemory, VirtioDevice> create in _virtioDevices)
                        virtio.Add(create(virtio.Memory) ?? throw new InvalidOperationException("a virtio device factory returned null"));
                }
                cpu = CpuVirtualization.Attach(vm, mode, clock, legacy?.Pit, legacy?.Rtc);
                if (diskInterface == DiskInterface.VirtioBlkAsync)
                    virtio!.AttachAsyncQueue(vm, diskDevice, VirtioBlock.RequestQueue, VirtioTransport.DoorbellPortBase, AsyncDiskEventChannel, cpu.Raise, cpu.RegisterEventSource);
                if (_asyncConsole)
                    virtio!.AttachAsyncQueue(vm, ConsoleDevice, (int)ParaVirt.Abi.Virtio.VirtioConsoleConfig.TransmitQueue, AsyncConsoleDoorbellPort, AsyncConsoleEventChannel, cpu.Raise, cpu.RegisterEventSource);
                // Device interrupt lines into CPU virtualization (full mode: vector 0x20 + line
                // through the guest's virtual IDT, when the guest has interrupts on). Not event
                // sources: both devices complete inside the guest's own access, so their line is
                // already pending when the guest halts; a halt with nothing pending stays a dead end.
                VirtualCpu lines = cpu;
                if (nvme is not null)
                    nvme.InterruptRequested = () => lines.Raise(NvmeRegisters.InterruptLine);
                if (legacy?.Disk is { } ata)
                    ata.InterruptLineRaised = () => lines.Raise(AtaRegisters.InterruptLine);
                if (mode == VirtualizationMode.Full)
                    ShadowPaging.TryAttach(vm, cpu); // the guest's own page tables, shadowed (docs/memory-virtualization.md)
                // Para mode's direct paging, where the engine can control the guest's paging.
                if (mode == VirtualizationMode.Para && ParaVirt.Mmu.Para.ParaMmu.IsSupported(vm))
                    paraMmu = ParaVirt.Mmu.Para.ParaMmu.Attach(vm);
            }
            vm.CommandLine = _commandLine;
            LoadedImage? loaded = _image is null ? null : ImageLoader.Load(vm, _image, _stackSize);
            return new Machine(vm, _mode, cpu, legacy, virtio, loaded, diskInterface) { Nvme = nvme, ParaMmu = paraMmu };
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    /// <summary>The disk's interface: the one asked for, or the mode's default; null without a disk.</summary>
    private DiskInterface? ResolveDiskInterface()
    {
        if (_disk is null)
            return null;
        if (_mode is not { } mode)
            throw new InvalidOperationException("a disk needs a mode: the mode decides the disk device");
        DiskInterface chosen = _diskInterface ?? DiskInterfaces.DefaultFor(mode);
        VirtualizationMode needs = DiskInterfaces.ModeOf(chosen);
        if (needs != mode)
            throw new InvalidOperationException($"the disk interface {chosen} is a {needs.ToString().ToLowerInvariant()}-mode device; this machine is in {mode.ToString().ToLowerInvariant()} mode");
        return chosen;
    }

    /// <summary>Full mode's disk devices beyond the ATA PIO drive that <see cref="LegacyPlatform"/> registers: one arm per device.</summary>
    private NvmeController? AttachFullModeDisk(VirtualMachine vm, DiskInterface? diskInterface)
    {
        switch (diskInterface)
        {
            case null:
            case DiskInterface.AtaPio:
                return null; // the legacy platform's primary master
            case DiskInterface.IdeDma:
                return null; // the same drive with the legacy platform's bus-master function (busMasterDma above)
            case DiskInterface.Nvme:
            {
                // MMIO registers at the platform's BAR; interrupts go to line NvmeRegisters.InterruptLine
                // once CPU virtualization exists (Build wires them).
                var nvme = new NvmeController(vm.WritableMemory, _disk!) { StopRequested = () => vm.IsStopping };
                vm.MmioBus.Register(NvmeRegisters.BarBase, NvmeRegisters.BarSize, nvme);
                return nvme;
            }
            default:
                throw new InvalidOperationException($"{diskInterface} is not a full-mode disk");
        }
    }

    /// <summary>The event channel of virtio-blk-async's request queue (the first device channel).</summary>
    public const uint AsyncDiskEventChannel = (uint)ParaVirt.Abi.EventChannel.FirstDevice;

    /// <summary>The transport index of virtio-console in para mode.</summary>
    public const int ConsoleDevice = 0;

    /// <summary>The event channel of the asynchronous console's transmit queue (<see cref="WithAsyncConsole"/>).</summary>
    public const uint AsyncConsoleEventChannel = AsyncDiskEventChannel + 1;

    /// <summary>The doorbell port of the asynchronous console's transmit queue (<see cref="WithAsyncConsole"/>); virtio-blk-async's is <see cref="VirtioTransport.DoorbellPortBase"/>.</summary>
    public const ushort AsyncConsoleDoorbellPort = VirtioTransport.DoorbellPortBase + 1;

    /// <summary>
    /// <paramref name="ports"/>, plus the doorbell port of each queue on the asynchronous transport:
    /// virtio-blk-async's request queue (<see cref="VirtioTransport.DoorbellPortBase"/>, served on
    /// <see cref="AsyncDiskEventChannel"/>) and the asynchronous console's transmit queue (the
    /// guest's out must not fault).
    /// </summary>
    private IReadOnlyList<ushort> WithDoorbellPorts(IReadOnlyList<ushort> ports, DiskInterface? diskInterface)
    {
        var all = new List<ushort>(ports);
        if (diskInterface == DiskInterface.VirtioBlkAsync && !all.Contains(VirtioTransport.DoorbellPortBase))
            all.Add(VirtioTransport.DoorbellPortBase);
        if (_asyncConsole && _mode == VirtualizationMode.Para && !all.Contains(AsyncConsoleDoorbellPort))
            all.Add(AsyncConsoleDoorbellPort);
        if (all.Count == ports.Count)
            return ports;
        all.Sort();
        return all;
    }

    /// <summary>Para mode's disk devices on the virtio transport: one arm per device.</summary>
    private void AttachParaModeDisk(VirtioTransport virtio, VirtualMachine vm, DiskInterface? diskInterface)
    {
        switch (diskInterface)
        {
            case null:
                return;
            case DiskInterface.VirtioBlk:
                virtio.Add(new VirtioBlock(vm.WritableMemory, _disk!));
                return;
            case DiskInterface.VirtioBlkAsync:
                // The same device; its request queue gets a doorbell and a device thread once CPU
                // virtualization exists to raise its event (AttachAsyncQueue).
                virtio.Add(new VirtioBlock(vm.WritableMemory, _disk!));
                return;
            default:
                throw new InvalidOperationException($"{diskInterface} is not a para-mode disk");
        }
    }
}
