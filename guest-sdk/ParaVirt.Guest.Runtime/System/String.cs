using System.Runtime.CompilerServices;

namespace System;

/// <summary>
/// An immutable UTF-16 string. In a guest, strings come from literals (placed in the image by
/// ilc); there is no concatenation, formatting or interning at run time.
/// </summary>
public sealed class String
{
#pragma warning disable CS0649, CS0169 // the layout is a contract with ilc: length, then the characters
    private readonly int _stringLength;
    private char _firstChar;
#pragma warning restore CS0649, CS0169

    /// <summary>The empty string.</summary>
    public static readonly string Empty = "";

    /// <summary>The number of UTF-16 code units.</summary>
    public int Length => _stringLength;

    /// <summary>The code unit at <paramref name="index"/>; out of range stops the VM.</summary>
    [IndexerName("Chars")]
    public char this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_stringLength)
                Internal.Runtime.GuestFailFast.Fail("string index out of range");
            return Unsafe.Add(ref _firstChar, (nint)(uint)index);
        }
    }

    /// <summary>A reference to the first code unit (for <c>fixed</c>).</summary>
    public ref readonly char GetPinnableReference() => ref _firstChar;

    /// <summary>The characters as a span.</summary>
    public static implicit operator ReadOnlySpan<char>(string value) =>
        value is null ? default : new ReadOnlySpan<char>(ref value._firstChar, value._stringLength);
}
