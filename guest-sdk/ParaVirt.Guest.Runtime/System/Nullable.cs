namespace System;

/// <summary>A value that may be absent. Boxing it is not supported in a guest.</summary>
public struct Nullable<T> where T : struct
{
    private readonly bool _hasValue;
    private T _value;

    /// <summary>Creates a present value.</summary>
    public Nullable(T value)
    {
        _hasValue = true;
        _value = value;
    }

    /// <summary>Whether a value is present.</summary>
    public readonly bool HasValue => _hasValue;

    /// <summary>The value, or a fail-fast stop when absent.</summary>
    public readonly T Value
    {
        get
        {
            if (!_hasValue)
                Internal.Runtime.GuestFailFast.Fail("Nullable<T>.Value read with no value");
            return _value;
        }
    }

    /// <summary>The value, or <c>default</c> when absent.</summary>
    public readonly T GetValueOrDefault() => _value;
}
