namespace System;

/// <summary>The return type of a method that returns nothing.</summary>
public struct Void
{
}
