using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Text;

namespace ParaVirt.Image.Tests;

/// <summary>A raw GDB remote protocol client for protocol tests: frames packets, reads replies, can misbehave.</summary>
internal sealed class RspClient : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _pending = [];

    public RspClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect("127.0.0.1", port);
        _socket.ReceiveTimeout = 20_000;
    }

    public static string Frame(string payload)
    {
        byte sum = 0;
        foreach (byte b in Encoding.Latin1.GetBytes(payload))
            sum += b;
        return $"${payload}#{sum:x2}";
    }

    public void SendRaw(string text) => SendRaw(Encoding.Latin1.GetBytes(text));

    public void SendRaw(byte[] bytes) => _socket.Send(bytes);

    /// <summary>Sends a packet and returns the reply packet's payload (acks skipped).</summary>
    public string Ask(string payload)
    {
        SendRaw(Frame(payload));
        return ReadPacket();
    }

    /// <summary>The next byte that is not inside a packet (an ack: '+' or '-').</summary>
    public char ReadAck()
    {
        int b = ReadByte();
        return (char)b;
    }

    /// <summary>The next packet's payload; skips acks; checks the checksum.</summary>
    public string ReadPacket()
    {
        int b;
        while ((b = ReadByte()) != '$')
        {
            if (b is not ('+' or '-'))
                throw new InvalidDataException($"unexpected byte 0x{b:x2} between packets");
        }
        var payload = new StringBuilder();
        byte sum = 0;
        while ((b = ReadByte()) != '#')
        {
            payload.Append((char)b);
            sum += (byte)b;
        }
        string cs = $"{(char)ReadByte()}{(char)ReadByte()}";
        Assert.That(cs, Is.EqualTo(sum.ToString("x2")), $"checksum of '{payload}'");
        SendRaw("+");
        return payload.ToString();
    }

    /// <summary>Whether the stub closed the connection within <paramref name="timeoutMs"/>.</summary>
    public bool WaitClosed(int timeoutMs)
    {
        var watch = Stopwatch.StartNew();
        _socket.ReceiveTimeout = 500;
        var buffer = new byte[4096];
        while (watch.ElapsedMilliseconds < timeoutMs)
        {
            try
            {
                if (_socket.Receive(buffer) == 0)
                    return true;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut)
            {
            }
            catch (SocketException)
            {
                return true;
            }
        }
        return false;
    }

    private int ReadByte()
    {
        if (_pending.Count > 0)
        {
            byte first = _pending[0];
            _pending.RemoveAt(0);
            return first;
        }
        var buffer = new byte[4096];
        int n = _socket.Receive(buffer);
        if (n == 0)
            throw new EndOfStreamException("the stub closed the connection");
        for (int i = 1; i < n; i++)
            _pending.Add(buffer[i]);
        return buffer[0];
    }

    public void Dispose() => _socket.Dispose();
}
