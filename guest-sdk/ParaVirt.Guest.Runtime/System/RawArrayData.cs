namespace System;

/// <summary>The layout of an array object after its method table: the length, padding, then the elements.</summary>
internal sealed class RawArrayData
{
#pragma warning disable CS0649, CS0169 // a layout overlay, never constructed
    public uint Length;
    public uint Padding;
    public byte Data;
#pragma warning restore CS0649, CS0169
}
