using System.Collections.Generic;

namespace ParaVirt.Image;

/// <summary>What <see cref="ElfLinker"/> produced: the image, the address of every global symbol, and a readable link map.</summary>
/// <param name="Image">The linked image.</param>
/// <param name="Symbols">Global and linker-provided symbols and their guest addresses.</param>
/// <param name="Map">A text listing of sections and symbols by address.</param>
public sealed record LinkResult(PvImage Image, IReadOnlyDictionary<string, ulong> Symbols, string Map)
{
    /// <summary>
    /// Symbols and DWARF relocated to the image's final addresses (the input of
    /// <see cref="DebugElfWriter"/>); null when the result was not made by <see cref="ElfLinker"/>.
    /// </summary>
    public DebugInfo? Debug { get; init; }
}
