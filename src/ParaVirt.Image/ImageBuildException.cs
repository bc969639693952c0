using System;

namespace ParaVirt.Image;

/// <summary>
/// Building an image failed: ilc reported an error, the ELF object is not one the linker handles,
/// a symbol is undefined, or a relocation does not fit. The message is one line that says what the
/// guest code did and, where known, which C# feature is not available in a guest.
/// </summary>
/// <example><code>
/// try { ElfLinker.LinkFile("kernel.o", new LinkOptions()); }
/// catch (ImageBuildException ex) { Console.Error.WriteLine($"error: {ex.Message}"); }
/// </code></example>
public sealed class ImageBuildException : Exception
{
    /// <summary>Creates the exception with a one-line <paramref name="message"/>.</summary>
    public ImageBuildException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line <paramref name="message"/> and its cause.</summary>
    public ImageBuildException(string message, Exception inner) : base(message, inner) { }
}
