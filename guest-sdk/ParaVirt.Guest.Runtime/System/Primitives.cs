namespace System;

// The primitive types. Their single field is a contract with the compiler; a guest gets no
// parsing or formatting methods here (ParaVirt.Guest.Console prints integers).

/// <summary>A Boolean.</summary>
public struct Boolean { private bool m_value; }

/// <summary>A UTF-16 code unit.</summary>
public struct Char { private char m_value; }

/// <summary>A signed 8-bit integer.</summary>
public struct SByte { private sbyte m_value; }

/// <summary>An unsigned 8-bit integer.</summary>
public struct Byte { private byte m_value; }

/// <summary>A signed 16-bit integer.</summary>
public struct Int16 { private short m_value; }

/// <summary>An unsigned 16-bit integer.</summary>
public struct UInt16 { private ushort m_value; }

/// <summary>A signed 32-bit integer.</summary>
public struct Int32 { private int m_value; }

/// <summary>An unsigned 32-bit integer.</summary>
public struct UInt32 { private uint m_value; }

/// <summary>A signed 64-bit integer.</summary>
public struct Int64 { private long m_value; }

/// <summary>An unsigned 64-bit integer.</summary>
public struct UInt64 { private ulong m_value; }

/// <summary>A signed native integer (<c>nint</c>).</summary>
public unsafe struct IntPtr
{
    private void* m_value;

    /// <summary>The null pointer.</summary>
    public static readonly IntPtr Zero;
}

/// <summary>An unsigned native integer (<c>nuint</c>).</summary>
public unsafe struct UIntPtr { private void* m_value; }

/// <summary>A 32-bit floating point number.</summary>
public struct Single { private float m_value; }

/// <summary>A 64-bit floating point number.</summary>
public struct Double { private double m_value; }
