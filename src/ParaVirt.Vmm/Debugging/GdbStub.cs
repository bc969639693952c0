using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Machine;
using ParaVirt.Core.Memory;

namespace ParaVirt.Vmm.Debugging;

/// <summary>
/// A gdb stub: serves the GDB remote serial protocol for one <see cref="VirtualMachine"/> on a
/// localhost TCP port, one client at a time. The guest stops at its entry point until a client
/// connects and continues it (when <c>waitForClient</c>); then gdb can read and write registers
/// and memory (guest virtual addresses, translated through the guest's own page tables), set
/// software breakpoints (<c>int3</c>, reported through the platform's trap path), single-step (TF,
/// then #DB), continue, interrupt with Ctrl-C (a kick), detach and kill. Unhandled traps and
/// fail-fast stop the guest where it failed and report a signal (SIGSEGV, SIGILL, SIGFPE,
/// SIGABRT) so gdb can look around; shutdown reports <c>W</c> with the exit code.
/// </summary>
/// <example><code>
/// using Machine machine = MachineBuilder.Create().WithImage(image).Build();
/// using GdbStub stub = GdbStub.Listen(machine.Vm, 1234);   // gdb: target remote :1234
/// machine.Run();
/// </code></example>
/// <remarks>
/// A client is never trusted: a bad checksum gets <c>-</c>, a malformed or unknown packet an error
/// reply or an empty one, memory outside the guest's mappings <c>E14</c>, lengths are capped, an
/// over-long packet closes the connection, and a client that vanishes detaches (breakpoints
/// removed, the guest runs on). Nothing a client sends stops the VM except <c>k</c>.
/// </remarks>
public sealed class GdbStub : IDebugHook, IDisposable
{
    /// <summary>The most bytes one <c>m</c> reply carries (its hex fills <see cref="GdbConnection.MaxPacket"/>).</summary>
    public const int MaxMemoryTransfer = (GdbConnection.MaxPacket / 2) - 16;

    private const ulong TrapFlag = 1UL << 8;
    private const int SigInt = 2, SigIll = 4, SigTrap = 5, SigAbrt = 6, SigFpe = 8, SigSegv = 11;
    private const int PollMs = 50;

    private readonly VirtualMachine _vm;
    private readonly TcpListener _listener;
    private readonly Thread _acceptor;
    private readonly Dictionary<ulong, byte> _breakpoints = [];
    private readonly object _clientGate = new();
    private GdbConnection? _client;
    private volatile bool _disposed;

    // vCPU-thread state, and the flags other threads raise for it (read once per entry).
    private volatile int _haltRequest;     // a signal to stop with (Ctrl-C, a new client), 0 for none
    private volatile bool _clientChanged;  // a client connected or left: the vCPU thread reconciles
    private int _stopSignal;               // the stop being reported, 0 while running
    private bool _swBreak;
    private bool _stepping;
    private bool _waitForClient;
    private bool _resumed;                 // the client resumed the guest and waits for a stop reply

    private GdbStub(VirtualMachine vm, TcpListener listener, bool waitForClient)
    {
        _vm = vm;
        _listener = listener;
        _waitForClient = waitForClient;
        if (waitForClient)
            _haltRequest = SigTrap; // stop at the entry point
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = "gdb-accept" };
    }

    /// <summary>
    /// Listens on 127.0.0.1:<paramref name="port"/> (0 picks a free port: see <see cref="Port"/>) and
    /// attaches to <paramref name="vm"/> as its <see cref="VirtualMachine.Debugger"/>. With
    /// <paramref name="waitForClient"/> the first run waits at the entry point for gdb.
    /// </summary>
    public static GdbStub Listen(VirtualMachine vm, int port, bool waitForClient = true)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start(1);
        var stub = new GdbStub(vm, listener, waitForClient);
        vm.Debugger = stub;
        stub._acceptor.Start();
        return stub;
    }

    /// <summary>The TCP port the stub listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Whether a client is connected now.</summary>
    public bool HasClient => _client is { IsClosed: false };

    /// <summary>Packets the current client sent with a wrong checksum.</summary>
    public int BadChecksums => _client?.BadChecksums ?? 0;

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket socket;
            try
            {
                socket = _listener.AcceptSocket();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            lock (_clientGate)
            {
                if (_client is { IsClosed: false })
                {
                    socket.Close(); // one client at a time
                    continue;
                }
                _client = new GdbConnection(socket, OnInterrupt, OnClientClosed);
            }
            // A new client expects the guest stopped: halt it (a no-op while it waits at the entry).
            _clientChanged = true;
            RequestHalt(SigTrap);
        }
    }

    private void OnInterrupt() => RequestHalt(SigInt);

    /// <summary>The client left: the vCPU thread detaches at its next entry (a kick brings it there soon).</summary>
    private void OnClientClosed()
    {
        _clientChanged = true;
        _vm.Kick();
    }

    private void RequestHalt(int signal)
    {
        Interlocked.CompareExchange(ref _haltRequest, signal, 0);
        _vm.Kick();
    }

    /// <inheritdoc/>
    public VmStopReason? BeforeEntry(VirtualMachine vm, ref Registers registers)
    {
        if (_haltRequest == 0 && _stopSignal == 0 && !_clientChanged)
            return null;
        GdbConnection? client = _client;
        if (_clientChanged)
        {
            _clientChanged = false;
            if (client is null || client.IsClosed)
            {
                if (!_waitForClient)
                {
                    Detach(ref registers);
                    return null;
                }
            }
        }
        int halt = Interlocked.Exchange(ref _haltRequest, 0);
        if (_stopSignal == 0 && halt != 0)
        {
            _stopSignal = halt;
            _swBreak = false;
        }
        if (_stopSignal == 0)
            return null;
        // Stopped: report, then serve the client until it resumes, detaches, kills or leaves.
        if (client is null || client.IsClosed)
            client = WaitForClient();
        if (client is null)
        {
            Detach(ref registers);
            return null;
        }
        _waitForClient = false;
        if (_resumed)
            client.Send(StopReply());
        _resumed = false;
        return Serve(client, ref registers, terminal: null);
    }

    /// <inheritdoc/>
    public bool OnExit(VirtualMachine vm, in VcpuExit exit, ref Registers registers)
    {
        if (exit.Reason == ExitReason.Trap && exit.Vector == (byte)ExceptionVector.Breakpoint && exit.Rip != 0 && _breakpoints.ContainsKey(exit.Rip - 1))
        {
            registers.Rip = exit.Rip - 1; // int3 reports the address after it; gdb wants the breakpoint's
            _stopSignal = SigTrap;
            _swBreak = true;
            return true;
        }
        if (exit.Reason == ExitReason.Trap && exit.Vector == (byte)ExceptionVector.Debug && _stepping)
        {
            registers.Rflags &= ~TrapFlag;
            _stepping = false;
            _stopSignal = SigTrap;
            _swBreak = false;
            return true;
        }
        return false;
    }

    /// <inheritdoc/>
    public void RunEnded(VirtualMachine vm, VmStopReason reason)
    {
        GdbConnection? client = _client;
        if (client is null || client.IsClosed || _disposed)
            return;
        int signal = SignalFor(reason);
        if (!_resumed && _stopSignal == 0)
            _resumed = true; // the guest was running: gdb waits for a reply
        if (signal != 0 && reason.Kind != VmStopKind.StopRequested)
        {
            // Show gdb the guest where it failed; registers and memory stay readable until it resumes.
            _stopSignal = signal;
            _swBreak = false;
            client.Send(StopReply());
            Registers copy = vm.Registers;
            _ = Serve(client, ref copy, terminal: reason);
        }
        if (!client.IsClosed)
            client.Send(reason.Kind == VmStopKind.GuestShutdown ? $"W{reason.ExitCode & 0xFF:x2}" : $"X{(signal == 0 ? 9 : signal):x2}");
        _stopSignal = 0;
    }

    private static int SignalFor(VmStopReason reason) => reason.Kind switch
    {
        VmStopKind.GuestShutdown => reason.IsFailFast ? SigAbrt : 0,
        VmStopKind.UnhandledTrap when reason.Message.Contains("#DE", StringComparison.Ordinal) => SigFpe,
        VmStopKind.UnhandledTrap when reason.Message.Contains("#UD", StringComparison.Ordinal) => SigIll,
        VmStopKind.UnhandledTrap or VmStopKind.TripleFault or VmStopKind.GuestError => SigSegv,
        _ => 0,
    };

    private GdbConnection? WaitForClient()
    {
        while (!_vm.IsStopping && !_disposed)
        {
            GdbConnection? client = _client;
            if (client is { IsClosed: false })
                return client;
            if (!_waitForClient)
                return null;
            Thread.Sleep(PollMs);
        }
        return null;
    }

    /// <summary>Answers packets while the guest is stopped. Returns a stop reason for <c>k</c>, else null once the guest may run.</summary>
    private VmStopReason? Serve(GdbConnection client, ref Registers registers, VmStopReason? terminal)
    {
        while (true)
        {
            if ((_vm.IsStopping && terminal is null) || _disposed)
                return null;
            if (!client.TryTake(out byte[] packet, PollMs))
            {
                if (client.IsClosed)
                {
                    Detach(ref registers);
                    return null;
                }
                continue;
            }
            if (packet.Length == 0)
            {
                client.Send("");
                continue;
            }
            string text = Encoding.Latin1.GetString(packet);
            switch ((char)packet[0])
            {
                case 'c':
                case 's':
                case 'C':
                case 'S':
                {
                    if (terminal is not null)
                        return null; // the guest is gone: RunEnded reports how it ended
                    // c[addr], s[addr]; C sig[;addr], S sig[;addr]: a guest has no signals, so the
                    // signal gdb passes on is dropped.
                    ReadOnlySpan<char> address = text.AsSpan(1);
                    if (packet[0] is (byte)'C' or (byte)'S')
                    {
                        int semicolon = address.IndexOf(';');
                        if (!TryParseHex(semicolon < 0 ? address : address[..semicolon], out _))
                        {
                            client.Send("E01");
                            continue;
                        }
                        address = semicolon < 0 ? [] : address[(semicolon + 1)..];
                    }
                    if (address.Length > 0)
                    {
                        // Parse into a local: a failed parse must not clobber RIP.
                        if (!TryParseHex(address, out ulong resumeAt))
                        {
                            client.Send("E01");
                            continue;
                        }
                        registers.Rip = resumeAt;
                    }
                    _stepping = packet[0] is (byte)'s' or (byte)'S';
                    if (_stepping)
                        registers.Rflags |= TrapFlag;
                    _stopSignal = 0;
                    _swBreak = false;
                    _resumed = true;
                    _haltRequest = 0; // a Ctrl-C or attach sent while stopped is stale
                    _clientChanged = false;
                    return null;
                }
                case 'D':
                    client.Send("OK");
                    Detach(ref registers);
                    client.Close();
                    return null;
                case 'k':
                    Detach(ref registers);
                    client.Close();
                    return terminal is null ? new VmStopReason(VmStopKind.StopRequested, -1, "killed by the debugger (gdb 'kill')") : null;
                default:
                    string reply = Answer(client, text, packet, ref registers, terminal is not null);
                    if (!ReferenceEquals(reply, NoReply))
                        client.Send(reply);
                    break;
            }
        }
    }

    /// <summary>The reply to a packet that does not resume the guest.</summary>
    private string Answer(GdbConnection client, string text, byte[] packet, ref Registers registers, bool terminal)
    {
        switch (text[0])
        {
            case '?':
                return StopReply();
            case 'g':
                return ReadRegisters(in registers);
            case 'G':
                return WriteRegisters(text.AsSpan(1), ref registers);
            case 'p':
                return TryParseHex(text.AsSpan(1), out ulong number) && number < GdbTargetDescription.RegisterCount ? ReadRegister(in registers, (int)number) : "E01";
            case 'P':
                return WriteRegister(text.AsSpan(1), ref registers);
            case 'm':
                return ReadMemory(text.AsSpan(1));
            case 'M':
                return terminal ? "E01" : WriteMemory(text.AsSpan(1), hex: true, packet);
            case 'X':
                return terminal ? "E01" : WriteMemory(text.AsSpan(1), hex: false, packet);
            case 'Z':
            case 'z':
                return terminal ? "E01" : Breakpoint(text);
            case 'H':
            case 'T':
                return "OK";
            case 'q':
                return Query(text);
            case 'Q':
                if (text == "QStartNoAckMode")
                {
                    client.Send("OK");
                    client.StopAcks();
                    return NoReply;
                }
                return "";
            default:
                return ""; // unsupported: gdb falls back
        }
    }

    /// <summary>A reply already sent (QStartNoAckMode): <see cref="GdbConnection.Send(string)"/> must not send another.</summary>
    private const string NoReply = "\0";

    private string StopReply() => _stopSignal switch
    {
        SigTrap when _swBreak => "T05swbreak:;thread:1;",
        0 => "T05thread:1;",
        int s => $"T{s:x2}thread:1;",
    };

    private string Query(string text)
    {
        if (text.StartsWith("qSupported", StringComparison.Ordinal))
            return $"PacketSize={GdbConnection.MaxPacket:x};qXfer:features:read+;swbreak+;QStartNoAckMode+";
        if (text.StartsWith("qXfer:features:read:target.xml:", StringComparison.Ordinal))
        {
            string[] range = text["qXfer:features:read:target.xml:".Length..].Split(',');
            if (range.Length != 2 || !TryParseHex(range[0], out ulong offset) || !TryParseHex(range[1], out ulong length))
                return "E01";
            string xml = GdbTargetDescription.Xml;
            if (offset >= (ulong)xml.Length)
                return "l";
            int take = (int)Math.Min(Math.Min(length, (ulong)MaxMemoryTransfer), (ulong)xml.Length - offset);
            return ((ulong)take + offset >= (ulong)xml.Length ? "l" : "m") + xml.Substring((int)offset, take);
        }
        return text switch
        {
            "qAttached" => "1",
            "qC" => "QC1",
            "qfThreadInfo" => "m1",
            "qsThreadInfo" => "l",
            "qSymbol::" => "OK",
            _ => "",
        };
    }

    private static ref ulong Register(ref Registers r, int number)
    {
        switch (number)
        {
            case 0: return ref r.Rax;
            case 1: return ref r.Rbx;
            case 2: return ref r.Rcx;
            case 3: return ref r.Rdx;
            case 4: return ref r.Rsi;
            case 5: return ref r.Rdi;
            case 6: return ref r.Rbp;
            case 7: return ref r.Rsp;
            case 8: return ref r.R8;
            case 9: return ref r.R9;
            case 10: return ref r.R10;
            case 11: return ref r.R11;
            case 12: return ref r.R12;
            case 13: return ref r.R13;
            case 14: return ref r.R14;
            case 15: return ref r.R15;
            case 16: return ref r.Rip;
            default: return ref r.Rflags;
        }
    }

    private static string ReadRegisters(in Registers registers)
    {
        var text = new StringBuilder();
        for (int i = 0; i < GdbTargetDescription.RegisterCount; i++)
            text.Append(ReadRegister(in registers, i));
        return text.ToString();
    }

    private static string ReadRegister(in Registers registers, int number)
    {
        Registers r = registers;
        if (number <= GdbTargetDescription.Eflags)
        {
            ulong value = Register(ref r, number);
            int size = GdbTargetDescription.Size(number);
            var text = new StringBuilder(size * 2);
            for (int b = 0; b < size; b++)
                text.Append(((byte)(value >> (8 * b))).ToString("x2", CultureInfo.InvariantCulture));
            return text.ToString();
        }
        // Segment selectors and x87 state are not exposed by the engines: unavailable.
        return new string('x', GdbTargetDescription.Size(number) * 2);
    }

    private static string WriteRegisters(ReadOnlySpan<char> hex, ref Registers registers)
    {
        Registers copy = registers;
        int position = 0;
        for (int i = 0; i <= GdbTargetDescription.Eflags; i++)
        {
            int size = GdbTargetDescription.Size(i);
            if (hex.Length < position + (size * 2))
                break;
            if (hex[position] != 'x' && !TryParseLittleEndian(hex.Slice(position, size * 2), out Register(ref copy, i)))
                return "E01";
            position += size * 2;
        }
        copy.Rflags = SanitizeFlags(copy.Rflags, registers.Rflags);
        registers = copy;
        return "OK";
    }

    private static string WriteRegister(ReadOnlySpan<char> text, ref Registers registers)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0 || !TryParseHex(text[..eq], out ulong number) || number >= GdbTargetDescription.RegisterCount)
            return "E01";
        if (number > GdbTargetDescription.Eflags)
            return "OK"; // not exposed: ignored
        int size = GdbTargetDescription.Size((int)number);
        if (text.Length - eq - 1 != size * 2)
            return "E01";
        Registers copy = registers;
        if (!TryParseLittleEndian(text[(eq + 1)..], out Register(ref copy, (int)number)))
            return "E01";
        copy.Rflags = SanitizeFlags(copy.Rflags, registers.Rflags);
        registers = copy;
        return "OK";
    }

    /// <summary>The user-visible RFLAGS bits gdb may change; the rest (IOPL, VM, ...) keep their value.</summary>
    private static ulong SanitizeFlags(ulong wanted, ulong current)
    {
        const ulong User = 0xCD5 | TrapFlag | (1UL << 16) | (1UL << 18) | (1UL << 21);
        return (wanted & User) | (current & ~User) | Registers.ReservedOne;
    }

    private string ReadMemory(ReadOnlySpan<char> args)
    {
        if (!TryParseRange(args, out ulong address, out ulong length, out _))
            return "E01";
        length = Math.Min(length, MaxMemoryTransfer);
        Span<byte> buffer = stackalloc byte[MaxMemoryTransfer];
        int done = ReadVirtual(address, buffer[..(int)length]);
        if (done == 0 && length > 0)
            return "E14";
        return Convert.ToHexStringLower(buffer[..done]);
    }

    /// <summary>Copies guest virtual memory page by page; returns how many bytes were readable from the start.</summary>
    private int ReadVirtual(ulong address, Span<byte> destination)
    {
        ulong cr3 = _vm.ReadControlRegister(3);
        int done = 0;
        while (done < destination.Length)
        {
            if (!PageTableWalker.TryTranslate(_vm.PhysicalMemory, cr3, address + (ulong)done, out ulong physical, out ulong left))
                break;
            int chunk = (int)Math.Min(left, (ulong)(destination.Length - done));
            if (!_vm.Memory.TryRead(physical, destination.Slice(done, chunk)))
                break;
            done += chunk;
        }
        return done;
    }

    /// <summary>Writes guest virtual memory page by page, into memory the guest may write (its RAM); all or nothing per page.</summary>
    private bool WriteVirtual(ulong address, ReadOnlySpan<byte> source)
    {
        ulong cr3 = _vm.ReadControlRegister(3);
        // Translate everything first so that a write that fails half-way changes nothing.
        int done = 0;
        while (done < source.Length)
        {
            if (!PageTableWalker.TryTranslate(_vm.PhysicalMemory, cr3, address + (ulong)done, out ulong physical, out ulong left))
                return false;
            int chunk = (int)Math.Min(left, (ulong)(source.Length - done));
            if (!_vm.WritableMemory.TryGetSpan(physical, (ulong)chunk, out _))
                return false;
            done += chunk;
        }
        done = 0;
        while (done < source.Length)
        {
            _ = PageTableWalker.TryTranslate(_vm.PhysicalMemory, cr3, address + (ulong)done, out ulong physical, out ulong left);
            int chunk = (int)Math.Min(left, (ulong)(source.Length - done));
            if (!_vm.WritableMemory.TryWrite(physical, source.Slice(done, chunk)))
                return false;
            done += chunk;
        }
        return true;
    }

    private string WriteMemory(ReadOnlySpan<char> args, bool hex, byte[] packet)
    {
        int colon = args.IndexOf(':');
        if (colon < 0 || !TryParseRange(args[..colon], out ulong address, out ulong length, out _) || length > GdbConnection.MaxPacket)
            return "E01";
        byte[] data;
        if (hex)
        {
            ReadOnlySpan<char> digits = args[(colon + 1)..];
            if ((ulong)digits.Length != length * 2)
                return "E01";
            try
            {
                data = Convert.FromHexString(digits);
            }
            catch (FormatException)
            {
                return "E01";
            }
        }
        else
        {
            // X: binary, with '}' escaping (the next byte XOR 0x20); the packet's bytes, not its Latin-1 text.
            int start = Array.IndexOf(packet, (byte)':') + 1;
            var bytes = new List<byte>((int)length);
            for (int i = start; i < packet.Length; i++)
            {
                byte b = packet[i];
                if (b == '}')
                {
                    if (++i >= packet.Length)
                        return "E01";
                    b = (byte)(packet[i] ^ 0x20);
                }
                bytes.Add(b);
            }
            if ((ulong)bytes.Count != length)
                return "E01";
            data = [.. bytes];
        }
        if (data.Length == 0)
            return "OK";
        return WriteVirtual(address, data) ? "OK" : "E14";
    }

    private string Breakpoint(string text)
    {
        // Z0,addr,kind / z0,addr,kind: software breakpoints only; other types are unsupported ("").
        if (text.Length < 2 || text[1] != '0')
            return "";
        string[] parts = text[2..].Split(',');
        if (parts.Length < 3 || parts[0].Length != 0 || !TryParseHex(parts[1], out ulong address))
            return "E01";
        bool insert = text[0] == 'Z';
        if (insert)
        {
            if (_breakpoints.ContainsKey(address))
                return "OK";
            Span<byte> original = stackalloc byte[1];
            if (ReadVirtual(address, original) != 1 || !WriteVirtual(address, [0xCC]))
                return "E14";
            _breakpoints[address] = original[0];
            return "OK";
        }
        if (!_breakpoints.Remove(address, out byte saved))
            return "OK";
        return WriteVirtual(address, [saved]) ? "OK" : "E14";
    }

    /// <summary>Removes every breakpoint and the single-step flag: the guest runs on as if no debugger had been there.</summary>
    private void Detach(ref Registers registers)
    {
        foreach ((ulong address, byte original) in _breakpoints)
            _ = WriteVirtual(address, [original]);
        _breakpoints.Clear();
        if (_stepping)
            registers.Rflags &= ~TrapFlag;
        _stepping = false;
        _stopSignal = 0;
        _swBreak = false;
        _resumed = false;
        _haltRequest = 0;
        _waitForClient = false;
    }

    private static bool TryParseRange(ReadOnlySpan<char> text, out ulong address, out ulong length, out int consumed)
    {
        address = length = 0;
        consumed = text.Length;
        int comma = text.IndexOf(',');
        return comma > 0 && TryParseHex(text[..comma], out address) && TryParseHex(text[(comma + 1)..], out length);
    }

    private static bool TryParseHex(ReadOnlySpan<char> text, out ulong value) =>
        ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && text.Length is > 0 and <= 16;

    private static bool TryParseLittleEndian(ReadOnlySpan<char> hex, out ulong value)
    {
        value = 0;
        if (hex.Length % 2 != 0 || hex.Length > 16)
            return false;
        for (int b = 0; b < hex.Length / 2; b++)
        {
            if (!byte.TryParse(hex.Slice(b * 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte part))
                return false;
            value |= (ulong)part << (8 * b);
        }
        return true;
    }

    /// <summary>Stops listening and drops the client; the VM keeps running without a debugger.</summary>
    public void Dispose()
    {
        _disposed = true;
        _listener.Stop();
        lock (_clientGate)
            _client?.Close();
    }
}
