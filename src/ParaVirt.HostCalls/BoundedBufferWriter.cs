using System;
using System.Buffers;

namespace ParaVirt.HostCalls;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over a reusable array that refuses to grow past a limit: a
/// request for more throws <see cref="ResponseTooLargeException"/>, which the dispatcher turns
/// into <see cref="ParaVirt.Abi.HypercallStatus.TooLarge"/>. Allocates nothing after construction.
/// </summary>
internal sealed class BoundedBufferWriter : IBufferWriter<byte>
{
    private readonly byte[] _buffer;
    private int _limit;

    public BoundedBufferWriter(int capacity) => _buffer = new byte[capacity];

    /// <summary>The bytes written since the last <see cref="Reset"/>.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, WrittenCount);

    public int WrittenCount { get; private set; }

    /// <summary>Empties the writer and sets how many bytes it may hold (at most its capacity).</summary>
    public void Reset(int limit)
    {
        _limit = Math.Clamp(limit, 0, _buffer.Length);
        WrittenCount = 0;
    }

    public void Advance(int count)
    {
        if (count < 0 || count > _limit - WrittenCount)
            throw new ResponseTooLargeException();
        WrittenCount += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.AsMemory(WrittenCount, Available(sizeHint));

    public Span<byte> GetSpan(int sizeHint = 0) => _buffer.AsSpan(WrittenCount, Available(sizeHint));

    private int Available(int sizeHint)
    {
        int available = _limit - WrittenCount;
        if (sizeHint > available || available == 0)
            throw new ResponseTooLargeException();
        return available;
    }
}

/// <summary>The encoded response would exceed the space allowed for it.</summary>
internal sealed class ResponseTooLargeException : Exception
{
    public ResponseTooLargeException() : base("the host call's response does not fit the space allowed for it")
    {
    }
}
