using System.Runtime.CompilerServices;

namespace System;

/// <summary>A bounds-checked view of contiguous memory: a reference and a length (a C# 11 ref field).</summary>
/// <example><code>
/// Span&lt;byte&gt; buffer = stackalloc byte[64];
/// buffer[0] = 1;
/// </code></example>
public readonly ref struct Span<T>
{
    private readonly ref T _reference;
    private readonly int _length;

    /// <summary>A span over <paramref name="length"/> elements at <paramref name="pointer"/>.</summary>
    public unsafe Span(void* pointer, int length)
    {
        if (length < 0)
            Internal.Runtime.GuestFailFast.Fail("Span length is negative");
        _reference = ref Unsafe.AsRef<T>(pointer);
        _length = length;
    }

    /// <summary>A span over a whole array.</summary>
    public Span(T[] array)
    {
        if (array is null)
            return;
        _reference = ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data);
        _length = array.Length;
    }

    /// <summary>
    /// A span over <paramref name="length"/> elements of <paramref name="array"/> from <paramref name="start"/>;
    /// a range outside the array stops the VM. (Roslyn also lowers <c>"..."u8</c> arguments through it.)
    /// </summary>
    public Span(T[] array, int start, int length)
    {
        if (array is null)
        {
            if (start != 0 || length != 0)
                Internal.Runtime.GuestFailFast.Fail("Span over a null array with a non-empty range");
            return;
        }
        if ((uint)start > (uint)array.Length || (uint)length > (uint)(array.Length - start))
            Internal.Runtime.GuestFailFast.Fail("Span range outside its array");
        _reference = ref Unsafe.Add(ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data), (nint)(uint)start);
        _length = length;
    }

    /// <summary>A span over <paramref name="length"/> elements starting at <paramref name="reference"/>.</summary>
    public Span(ref T reference, int length)
    {
        _reference = ref reference;
        _length = length;
    }

    /// <summary>The number of elements.</summary>
    public int Length => _length;

    /// <summary>True when the span has no elements.</summary>
    public bool IsEmpty => _length == 0;

    /// <summary>The element at <paramref name="index"/>; out of range stops the VM.</summary>
    public ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_length)
                Internal.Runtime.GuestFailFast.Fail("Span index out of range");
            return ref Unsafe.Add(ref _reference, (nint)(uint)index);
        }
    }

    /// <summary>A reference to the first element (for <c>fixed</c>).</summary>
    public ref T GetPinnableReference() => ref _reference;

    /// <summary>The elements from <paramref name="start"/> on.</summary>
    public Span<T> Slice(int start)
    {
        if ((uint)start > (uint)_length)
            Internal.Runtime.GuestFailFast.Fail("Span.Slice out of range");
        return new Span<T>(ref Unsafe.Add(ref _reference, (nint)(uint)start), _length - start);
    }

    /// <summary><paramref name="length"/> elements from <paramref name="start"/>.</summary>
    public Span<T> Slice(int start, int length)
    {
        if ((ulong)(uint)start + (ulong)(uint)length > (ulong)(uint)_length)
            Internal.Runtime.GuestFailFast.Fail("Span.Slice out of range");
        return new Span<T>(ref Unsafe.Add(ref _reference, (nint)(uint)start), length);
    }

    /// <summary>Sets every element to <c>default</c>.</summary>
    public void Clear()
    {
        for (int i = 0; i < _length; i++)
            Unsafe.Add(ref _reference, (nint)(uint)i) = default;
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public void Fill(T value)
    {
        for (int i = 0; i < _length; i++)
            Unsafe.Add(ref _reference, (nint)(uint)i) = value;
    }

    /// <summary>A read-only view of the same elements.</summary>
    public static implicit operator ReadOnlySpan<T>(Span<T> span) => new(ref span._reference, span._length);

    /// <summary>A span over a whole array.</summary>
    public static implicit operator Span<T>(T[] array) => new(array);
}
