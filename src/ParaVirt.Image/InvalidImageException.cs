using System;

namespace ParaVirt.Image;

/// <summary>
/// A .pvimg that cannot be used: truncated, corrupt, of another format or ABI version, or not
/// fitting the VM it is loaded into. The message is one line a user can act on.
/// </summary>
/// <example><code>
/// try { PvImage image = PvImageReader.ReadFile("kernel.pvimg"); }
/// catch (InvalidImageException ex) { Console.Error.WriteLine(ex.Message); }
/// </code></example>
public sealed class InvalidImageException : Exception
{
    /// <summary>Creates the exception with a one-line <paramref name="message"/>.</summary>
    public InvalidImageException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line <paramref name="message"/> and its cause.</summary>
    public InvalidImageException(string message, Exception inner) : base(message, inner) { }
}
