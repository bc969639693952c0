using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using ParaVirt.Abi;
using ParaVirt.Core.Bus;
using ParaVirt.Core.Console;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Diagnostics;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Hypercalls;
using ParaVirt.Core.Memory;

namespace ParaVirt.Core.Machine;

/// <summary>
/// A virtual machine: guest memory, a vCPU, the port and MMIO buses, the hypercall table, exit
/// statistics, and the run loop that ties them together. Engine-neutral: the engine behind it
/// (KVM, managed) only runs the vCPU until its next exit.
/// </summary>
/// <example>
/// Machines are assembled by ParaVirt.Vmm's <c>MachineBuilder</c>, the one composition root; a bare one:
/// <code>
/// VirtualMachine vm = MachineBuilder.Create().WithMemory(16 &lt;&lt; 20).Build().Vm;
/// vm.Memory.TryWrite(entry, code);                 // or MachineBuilder.WithImage(...) for a .pvimg
/// vm.PrepareEntry(entry);
/// VmStopReason stop = vm.Run(TimeSpan.FromSeconds(5));
/// Console.WriteLine($"{stop.Kind}: {vm.Exits.Total} exits");
/// </code>
/// </example>
/// <remarks>
/// The run loop never lets an exception escape: a device or handler that throws, an engine
/// failure, or anything the guest does stops this VM with a <see cref="VmStopReason"/>; the host
/// process and other VMs go on.
/// </remarks>
public sealed class VirtualMachine : IDisposable
{
    private readonly IVmBackend _backend;
    private readonly IVcpuBackend _vcpu;
    private readonly ulong _lowestGuestPage;
    private VmStopReason? _stop;
    private VmStopReason? _pendingStop;

    // The run/dispose state: one field, changed only by compare-and-swap. Idle -> Busy (a run, or
    // PrepareEntry) -> Idle; Idle -> Disposed; Busy -> BusyDisposing (Dispose asked the run to stop)
    // -> Disposed, released by the thread that leaves Busy. No run starts unless it moved Idle to Busy.
    private const int Idle = 0, Busy = 1, BusyDisposing = 2, Disposed = 3;
    private int _state;

    /// <summary>Creates a VM on <paramref name="engine"/>.</summary>
    /// <remarks>Not public API: ParaVirt.Vmm's <c>MachineBuilder</c> is the one composition root
    /// (it attaches the platform's devices and CPU virtualization, and loads the image).</remarks>
    internal VirtualMachine(IHypervisor engine, VmOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        options ??= new VmOptions();
        Engine = engine;
        EngineName = engine.Name;
        Console = new GuestConsole(options.ConsoleOutput, options.ConsoleInput);
        NullHypercallValue = options.NullHypercallValue;
        var ports = new ushort[options.OpenPorts.Count];
        for (int i = 0; i < ports.Length; i++)
            ports[i] = options.OpenPorts[i];
        _backend = engine.CreateVm(new VmBackendOptions(options.MemorySize, ports, options.PrivateMemorySize));
        try
        {
            _vcpu = _backend.CreateVcpu(0);
        }
        catch
        {
            _backend.Dispose();
            throw;
        }
        Memory = GuestAccessibleView(_backend.Memory, _backend.Layout, out _lowestGuestPage);
        PlatformLayout layout = _backend.Layout;
        WritableMemory = _backend.Memory.Restrict([(layout.SharedInfoPage, 4096), (layout.GuestRamStart, layout.GuestRamEnd - layout.GuestRamStart)]);
        StandardHypercalls.RegisterAll(Hypercalls);
        ParaVirtMetrics.Track(this);
    }

    private static GuestMemory GuestAccessibleView(GuestMemory physical, PlatformLayout layout, out ulong low)
    {
        low = Math.Min(layout.HypercallPage, Math.Min(layout.StartInfoPage, layout.SharedInfoPage));
        ulong high = Math.Max(layout.HypercallPage, Math.Max(layout.StartInfoPage, layout.SharedInfoPage)) + 4096;
        // The three guest pages are contiguous on every engine so far; refuse a layout where a
        // platform page would sit between them and become reachable.
        if (high - low != 3 * 4096)
            throw new InvalidOperationException($"the guest pages at 0x{low:x}..0x{high:x} are not contiguous");
        return physical.Restrict([(low, high - low), (layout.GuestRamStart, layout.GuestRamEnd - layout.GuestRamStart)]);
    }

    /// <summary>The engine this VM runs on; its <see cref="IHypervisor.Behaviour"/> says what this host can trap.</summary>
    public IHypervisor Engine { get; }

    /// <summary>The engine's name ("kvm").</summary>
    public string EngineName { get; }

    /// <summary>
    /// The guest memory a guest may name: its RAM from <see cref="PlatformLayout.GuestRamStart"/>
    /// and the hypercall, start-info and shared-info pages. Devices, hypercall handlers and
    /// emulators use this view for every guest-supplied address, so the platform's supervisor
    /// pages (page tables, GDT, IDT, TSS, trampolines, ring-0 stack) are refused like addresses
    /// outside RAM.
    /// </summary>
    /// <remarks>Reads only: a host write to a guest-supplied address goes through <see cref="WritableMemory"/>.</remarks>
    public GuestMemory Memory { get; }

    /// <summary>
    /// The guest memory the host may write on a guest's behalf: its RAM and the shared-info page.
    /// The hypercall page and the start-info page are read-only for the guest (docs/abi.md), so
    /// every host write to a guest-supplied address (multicall results, host-call responses,
    /// virtio used rings and device-writable buffers, emulated string I/O, interrupt frames pushed
    /// on the guest stack) uses this view, and an address on those pages is refused like one
    /// outside RAM.
    /// </summary>
    public GuestMemory WritableMemory { get; }

    /// <summary>
    /// All of guest-physical memory, the platform's supervisor pages included. For the engine and
    /// for tests that play a broken ring 0; never for an address the guest supplied.
    /// </summary>
    public GuestMemory PhysicalMemory => _backend.Memory;

    /// <summary>Where the engine placed the platform pages.</summary>
    public PlatformLayout Layout => _backend.Layout;

    /// <summary>The port-I/O bus.</summary>
    public IoBus PortBus { get; } = new("pio");

    /// <summary>The MMIO bus.</summary>
    public IoBus MmioBus { get; } = new("mmio");

    /// <summary>This VM's hypercall table.</summary>
    public HypercallTable Hypercalls { get; } = new();

    /// <summary>Exit counters.</summary>
    public ExitStatistics Exits { get; } = new();

    /// <summary>The console.</summary>
    public GuestConsole Console { get; }

    /// <summary>The trap handler for full virtualization, or null (traps stop the VM).</summary>
    public ITrapHandler? TrapHandler { get; set; }

    /// <summary>
    /// Called on the vCPU thread after every handled exit, just before the guest resumes (virtual
    /// interrupt delivery), and when a run ends; null for none. Set before <see cref="Run"/>.
    /// </summary>
    public IResumeHook? ResumeHook { get; set; }

    /// <summary>
    /// The attached debugger (the gdb stub), or null: the default, which leaves the run loop and
    /// its exit counts exactly as they are without debugging. Set before <see cref="Run"/>.
    /// </summary>
    public IDebugHook? Debugger { get; set; }

    /// <summary>vCPU 0's control register <paramref name="index"/> (0, 2, 3, 4), for diagnostics and debuggers; call while the vCPU is not in the guest.</summary>
    public ulong ReadControlRegister(int index) => _vcpu.ReadControlRegister(index);

    /// <summary>Makes vCPU 0 leave the guest soon with an Interrupted exit (from any thread); the run goes on.</summary>
    public void Kick() => _vcpu.Kick();

    /// <summary>
    /// Withdraws a kick that arrived while vCPU 0 was out of the guest (on the vCPU thread, before
    /// it re-enters): for a resume hook that has just handled what the kick was for. A stop request
    /// is never lost: the run loop checks for one after the hook, and a later kick still counts.
    /// </summary>
    public void CancelKick() => _vcpu.CancelKick();

    /// <summary>vCPU 0's engine-specific feature <typeparamref name="T"/> (for example KVM's MSR access), or null when the engine has none.</summary>
    public T? GetVcpuFeature<T>() where T : class => _vcpu as T;

    /// <summary>The VM's engine-specific feature <typeparamref name="T"/> (for example KVM's <see cref="Engine.IDoorbellProvider"/>), or null when the engine has none.</summary>
    public T? GetVmFeature<T>() where T : class => _backend as T;

    /// <summary>What the <c>Null</c> hypercall returns.</summary>
    public long NullHypercallValue { get; set; }

    /// <summary>Feature word 0 reported by <c>GetFeatures</c>.</summary>
    public HypercallFeatures Features { get; set; } = HypercallFeatures.Console | HypercallFeatures.Multicall;

    /// <summary>Where the command line sits in the start-info page, and its longest length.</summary>
    public const int CommandLineOffset = 256, MaxCommandLine = 4096 - CommandLineOffset;

    /// <summary>The guest's command line (UTF-8), written into the start-info page by <see cref="PrepareEntry"/>.</summary>
    public ReadOnlyMemory<byte> CommandLine { get; set; } = ReadOnlyMemory<byte>.Empty;

    /// <summary>vCPU 0's registers (valid between runs and inside exit handlers).</summary>
    public ref Registers Registers => ref _vcpu.Registers;

    /// <summary>Why the VM last stopped, or null if it has not run.</summary>
    public VmStopReason? StopReason => _stop;

    /// <summary>
    /// True once something (a handler, the host, the watchdog) asked the current run to end. A
    /// volatile read: device code doing long work inside one exit checks it between units of work.
    /// </summary>
    public bool IsStopping => Volatile.Read(ref _pendingStop) is not null;

    /// <summary>
    /// Writes the start-info page and points vCPU 0 at <paramref name="entry"/> with RSP at
    /// <paramref name="stackTop"/> (default: the top of guest RAM) and RDI at the start-info page.
    /// The entry's return address is the exit stub, so returning from it shuts the VM down. The
    /// vCPU starts from the platform's entry state (CPL3, user selectors), whatever an earlier run
    /// left behind.
    /// </summary>
    /// <exception cref="InvalidOperationException">The VM is running.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public void PrepareEntry(ulong entry, ulong stackTop = 0, ulong stackSize = 64 * 1024, ulong heapStart = 0, ulong heapEnd = 0,
        ulong imageStart = 0, ulong imageEnd = 0, StartFlags flags = StartFlags.Deprivileged)
    {
        Claim();
        try
        {
            WriteEntry(entry, stackTop, stackSize, heapStart, heapEnd, imageStart, imageEnd, flags);
        }
        finally
        {
            EndBusy();
        }
    }

    private void WriteEntry(ulong entry, ulong stackTop, ulong stackSize, ulong heapStart, ulong heapEnd, ulong imageStart, ulong imageEnd, StartFlags flags)
    {
        if (CommandLine.Length > MaxCommandLine)
            throw new ArgumentException($"the command line is longer than {MaxCommandLine} bytes");
        PlatformLayout layout = Layout;
        if (stackTop == 0)
            stackTop = layout.GuestRamEnd;
        var info = new StartInfo
        {
            Magic = StartInfo.MagicValue,
            AbiVersion = AbiVersion.Current,
            Flags = (uint)flags,
            HypercallPage = layout.HypercallPage,
            MemorySize = PhysicalMemory.Size,
            HeapStart = heapStart,
            HeapSize = heapEnd > heapStart ? heapEnd - heapStart : 0,
            StackTop = stackTop,
            StackSize = stackSize,
            ImageStart = imageStart,
            ImageEnd = imageEnd,
            SharedInfo = layout.SharedInfoPage,
            CommandLine = CommandLine.Length > 0 ? layout.StartInfoPage + CommandLineOffset : 0,
            CommandLineLength = (uint)CommandLine.Length,
        };
        if (!Memory.TryWrite(layout.StartInfoPage + CommandLineOffset, CommandLine.Span))
            throw new InvalidOperationException("the command line is outside guest memory");
        if (!Memory.TryWrite(layout.StartInfoPage, info))
            throw new InvalidOperationException("the start-info page is outside guest memory");
        // System V: at a function's entry RSP + 8 is 16-byte aligned, the return address at [RSP].
        ulong rsp = (stackTop & ~0xFUL) - 8;
        if (!Memory.TryWrite(rsp, layout.HypercallPage + HypercallPage.ExitStubOffset))
            throw new ArgumentOutOfRangeException(nameof(stackTop), stackTop, "the stack is outside guest memory");
        _vcpu.ResetForEntry();
        ref Registers r = ref Registers;
        r = default;
        r.Rip = entry;
        r.Rsp = rsp;
        r.Rdi = layout.StartInfoPage;
        r.Rflags = Registers.ReservedOne;
        _stop = null;
    }

    /// <summary>
    /// Asks the VM to stop with <paramref name="reason"/>; from any thread. The first reason wins.
    /// Also cancels a console write blocked on a reader that does not keep up (<see cref="GuestConsole.CancelOutput"/>).
    /// </summary>
    public void Stop(VmStopReason reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (Interlocked.CompareExchange(ref _pendingStop, reason, null) is null)
        {
            // A vCPU blocked on console backpressure is not in the guest: the kick alone would not
            // reach it. Cancelling the console's wait lets the exit finish and the loop see the stop.
            Console.CancelOutput();
            _vcpu.Kick();
        }
    }

    /// <summary>Asks the VM to stop because the host wants it to.</summary>
    public void RequestStop(string why = "stop requested by the host") =>
        Stop(new VmStopReason(VmStopKind.StopRequested, -1, why));

    /// <summary>
    /// Runs vCPU 0 on a dedicated thread; completes when the VM stops. The task faults (the
    /// process goes on) with <see cref="InvalidOperationException"/> if the VM is already running,
    /// <see cref="ObjectDisposedException"/> if it was disposed, or whatever else the run threw.
    /// </summary>
    public Task<VmStopReason> RunAsync(TimeSpan? timeout = null)
    {
        try
        {
            Claim();
        }
        catch (InvalidOperationException ex) // ObjectDisposedException included
        {
            return Task.FromException<VmStopReason>(ex);
        }
        var done = new TaskCompletionSource<VmStopReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var thread = new Thread(() =>
            {
                try
                {
                    done.SetResult(RunClaimed(timeout));
                }
                catch (Exception ex)
                {
                    done.SetException(ex);
                }
            }) { IsBackground = true, Name = "vcpu0" };
            thread.Start();
        }
        catch (Exception ex)
        {
            EndBusy(); // no thread: nothing else will
            return Task.FromException<VmStopReason>(ex);
        }
        return done.Task;
    }

    /// <summary>
    /// Runs vCPU 0 on the calling thread until the VM stops. <paramref name="timeout"/> arms the
    /// watchdog: a guest still running then is stopped with <see cref="VmStopKind.Timeout"/>,
    /// even if it spins without ever exiting.
    /// </summary>
    /// <exception cref="InvalidOperationException">The VM is already running.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public VmStopReason Run(TimeSpan? timeout = null)
    {
        Claim();
        return RunClaimed(timeout);
    }

    /// <summary>Moves the state from Idle to Busy, or throws saying why it cannot.</summary>
    private void Claim()
    {
        int state = Interlocked.CompareExchange(ref _state, Busy, Idle);
        if (state == Idle)
            return;
        if (state is Disposed or BusyDisposing)
            throw new ObjectDisposedException(nameof(VirtualMachine));
        throw new InvalidOperationException("the VM is already running");
    }

    /// <summary>Leaves Busy: back to Idle, or, if Dispose came meanwhile, releases everything.</summary>
    private void EndBusy()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Busy) == Busy)
            return;
        // BusyDisposing: Dispose asked this run to stop and waits for (or gave up on) it.
        try
        {
            Release();
        }
        finally
        {
            Volatile.Write(ref _state, Disposed);
        }
    }

    /// <summary>The run, once <see cref="Claim"/> succeeded; always leaves Busy.</summary>
    private VmStopReason RunClaimed(TimeSpan? timeout)
    {
        Timer? watchdog = null;
        try
        {
            Volatile.Write(ref _pendingStop, null);
            // A Dispose between the claim and the line above had its stop request erased: repeat it.
            if (Volatile.Read(ref _state) != Busy)
                RequestStop("the VM is being disposed");
            _vcpu.ClearKick(); // a watchdog or stop request of an earlier run must not end this one
            Console.ResumeOutput();
            if (timeout is { } limit)
            {
                watchdog = new Timer(static state =>
                {
                    var (vm, ms) = ((VirtualMachine, long))state!;
                    vm.Stop(new VmStopReason(VmStopKind.Timeout, -1, $"watchdog: the guest ran past its {ms} ms limit"));
                }, (this, (long)limit.TotalMilliseconds), limit, Timeout.InfiniteTimeSpan);
            }
            _stop = RunLoop();
            Debugger?.RunEnded(this, _stop);
            return _stop;
        }
        finally
        {
            try
            {
                ResumeHook?.RunEnded(this);
            }
            finally
            {
                if (watchdog is not null)
                {
                    // Wait for a callback that may be running right now, so that it cannot kick a later run.
                    using var disposed = new ManualResetEvent(false);
                    if (watchdog.Dispose(disposed))
                        disposed.WaitOne();
                }
                _vcpu.ClearKick(); // forget this run's thread: a late kick must not signal a thread that may be gone
                EndBusy();
            }
        }
    }

    private VmStopReason RunLoop()
    {
        var exit = default(VcpuExit);
        bool inHook = false, inDebugger = false;
        while (true)
        {
            if (Volatile.Read(ref _pendingStop) is { } requested)
                return requested;
            try
            {
                // Invariant: the guest resumes only at a canonical user RIP in its own pages and a
                // canonical RSP, whoever set them (a handler, a reflected gate, an event callback,
                // an emulated iretq): the engine's return to CPL3 never faults in ring 0.
                if (Debugger is { } debugger)
                {
                    inDebugger = true;
                    VmStopReason? killed = debugger.BeforeEntry(this, ref _vcpu.Registers);
                    inDebugger = false;
                    if (killed is not null || Volatile.Read(ref _pendingStop) is not null)
                    {
                        if (killed is not null)
                            Stop(killed);
                        continue;
                    }
                }
                ref Registers r = ref _vcpu.Registers;
                if (r.Rip < _lowestGuestPage || r.Rip >= UserAddressLimit || !IsCanonical(r.Rsp))
                {
                    Stop(new VmStopReason(VmStopKind.GuestError, -1, DescribeBadResume(r.Rip, r.Rsp)));
                    continue;
                }
                _vcpu.Run(ref exit);
                Exits.Count(exit);
                if (Debugger is { } attached)
                {
                    inDebugger = true;
                    bool taken = attached.OnExit(this, exit, ref _vcpu.Registers);
                    inDebugger = false;
                    if (taken)
                        continue;
                }
                VmStopReason? stop = HandleExit(ref exit);
                if (stop is null && ResumeHook is { } hook)
                {
                    inHook = true;
                    stop = hook.BeforeResume(this, exit, ref _vcpu.Registers);
                    inHook = false;
                }
                if (stop is not null)
                    Stop(stop);
            }
            catch (Exception ex)
            {
                string where = inHook ? $"the resume hook ({ResumeHook?.GetType().Name}) failed: {ex.GetType().Name}: {ex.Message}"
                    : inDebugger ? $"the debugger ({Debugger?.GetType().Name}) failed: {ex.GetType().Name}: {ex.Message}"
                    : DescribeFailure(exit, ex);
                inDebugger = false;
                Stop(new VmStopReason(VmStopKind.HostError, -1, where));
            }
        }
    }

    /// <summary>One past the highest user address: the lower canonical half (48-bit virtual addresses).</summary>
    public const ulong UserAddressLimit = 0x0000_8000_0000_0000;

    /// <summary>Whether <paramref name="address"/> is canonical for 48-bit virtual addresses (bits 63:47 all equal).</summary>
    public static bool IsCanonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

    /// <summary>
    /// Whether the guest may be resumed at <paramref name="rip"/>: canonical, in the lower half, and
    /// not below the guest's lowest page (the platform's supervisor pages and the null page).
    /// </summary>
    public bool IsGuestCodeAddress(ulong rip) => rip >= _lowestGuestPage && rip < UserAddressLimit;

    private string DescribeBadResume(ulong rip, ulong rsp)
    {
        if (!IsGuestCodeAddress(rip))
            return $"the guest was to resume at RIP 0x{rip:x}, {(IsCanonical(rip) ? "outside the guest's pages" : "a non-canonical address")} (RSP 0x{rsp:x}): stopped instead";
        return $"the guest was to resume with RSP 0x{rsp:x}, a non-canonical address (RIP 0x{rip:x}): stopped instead";
    }

    /// <summary>Handles one exit. Returns a stop reason to end the run, or null to resume the guest.</summary>
    private VmStopReason? HandleExit(ref VcpuExit exit)
    {
        switch (exit.Reason)
        {
            case ExitReason.Hypercall:
            {
                ref Registers r = ref _vcpu.Registers;
                r.Rax = (ulong)Hypercalls.Dispatch(this, r.Rax, HypercallArgs.FromRegisters(r));
                return null;
            }
            case ExitReason.PortIo:
                DispatchIo(PortBus, exit.Port, ref exit);
                return null;
            case ExitReason.Mmio:
                DispatchIo(MmioBus, exit.Address, ref exit);
                return null;
            case ExitReason.Trap:
            {
                string? message = null;
                if (TrapHandler is { } handler && handler.HandleTrap(this, exit, ref _vcpu.Registers, out message))
                    return null;
                return new VmStopReason(VmStopKind.UnhandledTrap, -1, message ?? TrapDescriber.Describe(this, exit));
            }
            case ExitReason.Interrupted:
                return null; // a kick: the loop's stop check decides
            case ExitReason.Halt:
                return new VmStopReason(VmStopKind.Halted, -1, $"the vCPU halted at RIP 0x{exit.Rip:x} with nothing to wake it");
            case ExitReason.Shutdown:
                return new VmStopReason(VmStopKind.TripleFault, -1, $"triple fault (the CPU shut down) near RIP 0x{exit.Rip:x}");
            case ExitReason.EntryFailure:
                return new VmStopReason(VmStopKind.EntryFailure, -1, $"the hardware refused to enter the guest (reason 0x{exit.EngineCode:x})");
            case ExitReason.InternalError:
                return new VmStopReason(VmStopKind.EngineError, -1, $"the engine could not handle an exit (code 0x{exit.EngineCode:x}) near RIP 0x{exit.Rip:x}");
            case ExitReason.Timeout:
                return new VmStopReason(VmStopKind.Timeout, -1, "the guest's time limit expired");
            default:
                return new VmStopReason(VmStopKind.EngineError, -1, $"unexpected exit {exit.Reason} (engine code 0x{exit.EngineCode:x})");
        }
    }

    private static void DispatchIo(IoBus bus, ulong address, ref VcpuExit exit)
    {
        // Invariant: Size and Count come from the engine, which bounded them to its data buffer.
        Span<byte> data = exit.DataSpan;
        int size = exit.Size;
        for (int offset = 0; offset < data.Length; offset += size)
        {
            Span<byte> element = data.Slice(offset, size);
            if (exit.IsWrite)
                bus.Write(address, element);
            else
                bus.Read(address, element);
        }
    }

    private string DescribeFailure(in VcpuExit exit, Exception ex)
    {
        string where = exit.Reason switch
        {
            ExitReason.Hypercall => $"hypercall {Hypercalls.NameOf((uint)Math.Min(_vcpu.Registers.Rax, uint.MaxValue)) ?? _vcpu.Registers.Rax.ToString()}",
            ExitReason.PortIo => $"port 0x{exit.Port:x} device {PortBus.Resolve(exit.Port, exit.Size, out _)?.Name ?? "(none)"}",
            ExitReason.Mmio => $"MMIO 0x{exit.Address:x} device {MmioBus.Resolve(exit.Address, exit.Size, out _)?.Name ?? "(none)"}",
            ExitReason.Trap => $"trap handler for {ExceptionVectors.Mnemonic(exit.Vector)}",
            _ => $"the {EngineName} engine",
        };
        return $"{where} failed: {ex.GetType().Name}: {ex.Message}";
    }

    /// <summary>
    /// Releases the VM: its vCPU, memory and every engine resource. A running VM is asked to stop
    /// first; if its vCPU is still inside an exit after 5 s (a device blocked on its backend), the
    /// run releases everything when it ends, and Dispose returns without waiting longer.
    /// </summary>
    public void Dispose()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state is Disposed or BusyDisposing)
                return;
            if (state == Idle)
            {
                if (Interlocked.CompareExchange(ref _state, Disposed, Idle) != Idle)
                    continue;
                Release();
                return;
            }
            if (Interlocked.CompareExchange(ref _state, BusyDisposing, Busy) == Busy)
                break;
        }
        // The run (or PrepareEntry) owns the release now: unmapping kvm_run or guest RAM under a
        // vCPU that is inside an exit would pull memory from under it.
        RequestStop("the VM is being disposed");
        SpinWait.SpinUntil(() => Volatile.Read(ref _state) == Disposed, 5000);
    }

    private void Release()
    {
        ParaVirtMetrics.Retire(this);
        (ResumeHook as IDisposable)?.Dispose();
        if (!ReferenceEquals(TrapHandler, ResumeHook))
            (TrapHandler as IDisposable)?.Dispose();
        _vcpu.Dispose();
        _backend.Dispose();
    }
}
