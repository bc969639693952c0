using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net.Sockets;
using System.Threading;

namespace ParaVirt.Vmm.Debugging;

/// <summary>
/// One gdb client on a TCP socket: the GDB remote serial protocol's framing. A reader thread
/// splits the byte stream into packets (<c>$data#cs</c>), checks each checksum (a bad one is
/// answered with <c>-</c> in ack mode and dropped), acknowledges good ones with <c>+</c> until
/// <c>QStartNoAckMode</c>, turns a bare <c>0x03</c> into the interrupt callback, and queues the
/// packets for the stub. A packet longer than <see cref="MaxPacket"/> closes the connection: the
/// client is confused or hostile, and memory per client stays bounded.
/// </summary>
internal sealed class GdbConnection : IDisposable
{
    /// <summary>The largest packet accepted (the <c>PacketSize</c> announced in qSupported).</summary>
    public const int MaxPacket = 0x4000;

    /// <summary>Packets waiting for the stub; bounded so that a flooding client blocks on TCP, not on host memory.</summary>
    private const int MaxQueued = 64;

    private readonly Socket _socket;
    private readonly BlockingCollection<byte[]> _packets = new(MaxQueued);
    private readonly object _sendGate = new();
    private readonly Action _onInterrupt;
    private readonly Action _onClosed;
    private readonly Thread _reader;
    private volatile bool _noAck;
    private volatile bool _closed;
    private int _closeOnce;
    private byte[]? _lastSent;

    public GdbConnection(Socket socket, Action onInterrupt, Action onClosed)
    {
        _onClosed = onClosed;
        _socket = socket;
        _socket.NoDelay = true;
        _onInterrupt = onInterrupt;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "gdb-reader" };
        _reader.Start();
    }

    /// <summary>Whether the client went away (or was dropped).</summary>
    public bool IsClosed => _closed;

    /// <summary>Packets whose checksum did not match (each answered with <c>-</c> in ack mode).</summary>
    public int BadChecksums { get; private set; }

    /// <summary>Switches acknowledgements off (after the stub answered <c>QStartNoAckMode</c> with OK).</summary>
    public void StopAcks() => _noAck = true;

    /// <summary>Takes the next packet, waiting up to <paramref name="timeoutMs"/>; false when none came or the client is gone.</summary>
    public bool TryTake(out byte[] packet, int timeoutMs)
    {
        packet = [];
        if (_closed && _packets.Count == 0)
            return false;
        try
        {
            if (_packets.TryTake(out byte[]? p, timeoutMs))
            {
                packet = p;
                return true;
            }
        }
        catch (ObjectDisposedException)
        {
        }
        return false;
    }

    /// <summary>Sends one packet (<c>$payload#cs</c>); a failed send closes the connection.</summary>
    public void Send(ReadOnlySpan<byte> payload)
    {
        var frame = new byte[payload.Length + 4];
        frame[0] = (byte)'$';
        byte sum = 0;
        for (int i = 0; i < payload.Length; i++)
        {
            frame[i + 1] = payload[i];
            sum += payload[i];
        }
        frame[^3] = (byte)'#';
        frame[^2] = Hex(sum >> 4);
        frame[^1] = Hex(sum & 0xF);
        lock (_sendGate)
        {
            _lastSent = frame;
            SendRaw(frame);
        }
    }

    /// <summary>Sends <paramref name="text"/> as one packet.</summary>
    public void Send(string text) => Send(System.Text.Encoding.ASCII.GetBytes(text));

    private void SendRaw(ReadOnlySpan<byte> bytes)
    {
        if (_closed)
            return;
        try
        {
            while (bytes.Length > 0)
            {
                int n = _socket.Send(bytes, SocketFlags.None);
                bytes = bytes[n..];
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Close();
        }
    }

    private void ReadLoop()
    {
        var buffer = new byte[4096];
        var packet = new MemoryStream();
        // 0: between packets; 1: in a packet's data; 2 and 3: the two checksum digits.
        int state = 0;
        byte sum = 0;
        int expected = 0;
        try
        {
            while (!_closed)
            {
                int n = _socket.Receive(buffer);
                if (n <= 0)
                    break;
                for (int i = 0; i < n; i++)
                {
                    byte b = buffer[i];
                    switch (state)
                    {
                        case 0:
                            if (b == '$')
                            {
                                packet.SetLength(0);
                                sum = 0;
                                state = 1;
                            }
                            else if (b == 0x03)
                            {
                                _onInterrupt();
                            }
                            else if (b == '-' && !_noAck)
                            {
                                lock (_sendGate)
                                {
                                    if (_lastSent is { } last)
                                        SendRaw(last);
                                }
                            }
                            // '+' and any other byte between packets: ignored.
                            break;
                        case 1:
                            if (b == '#')
                            {
                                state = 2;
                                break;
                            }
                            if (packet.Length >= MaxPacket)
                                return; // finally closes the connection
                            sum += b;
                            packet.WriteByte(b);
                            break;
                        case 2:
                            expected = FromHex(b) << 4;
                            state = 3;
                            break;
                        case 3:
                            expected |= FromHex(b);
                            state = 0;
                            if (expected != sum)
                            {
                                BadChecksums++;
                                if (!_noAck)
                                    Ack((byte)'-');
                                break;
                            }
                            if (!_noAck)
                                Ack((byte)'+');
                            if (!_packets.TryAdd(packet.ToArray(), Timeout.Infinite))
                                return;
                            break;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            Close();
        }
    }

    private void Ack(byte b)
    {
        lock (_sendGate)
            SendRaw([b]);
    }

    private static byte Hex(int nibble) => (byte)"0123456789abcdef"[nibble];

    /// <summary>A hex digit's value, or 0x100 (never equal to a checksum) for any other byte.</summary>
    private static int FromHex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => 0x100,
    };

    /// <summary>Closes the socket; the reader ends, <see cref="IsClosed"/> becomes true.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closeOnce, 1) != 0)
            return;
        _closed = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        _socket.Close();
        _packets.CompleteAdding();
        _onClosed();
    }

    public void Dispose() => Close();
}
