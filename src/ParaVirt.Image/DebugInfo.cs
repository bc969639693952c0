using System.Collections.Generic;

namespace ParaVirt.Image;

/// <summary>
/// What a debugger needs beside an image: the image's sections, ilc's DWARF sections with their
/// relocations applied at the final addresses (empty when ilc ran without <c>-g</c>), and every
/// function and data symbol at its final address.
/// </summary>
/// <param name="Image">The linked image (its sections become the debug ELF's loadable sections).</param>
/// <param name="Sections">The <c>.debug_*</c> sections, relocated.</param>
/// <param name="Symbols">Symbols sorted by address.</param>
public sealed record DebugInfo(PvImage Image, IReadOnlyList<DebugSection> Sections, IReadOnlyList<DebugSymbol> Symbols);

/// <summary>One DWARF section (<c>.debug_info</c>, <c>.debug_line</c>, ...), relocated.</summary>
/// <param name="Name">The ELF section name.</param>
/// <param name="Data">Its bytes.</param>
public sealed record DebugSection(string Name, byte[] Data);

/// <summary>A symbol at its final guest address.</summary>
/// <param name="Name">ilc's symbol name, for instance <c>Hello_Hello_Kernel__Main</c>.</param>
/// <param name="Address">Guest address.</param>
/// <param name="Size">Size in bytes (0 when unknown).</param>
/// <param name="IsFunction">Code (STT_FUNC) rather than data (STT_OBJECT).</param>
/// <param name="IsGlobal">Global binding rather than local.</param>
public sealed record DebugSymbol(string Name, ulong Address, ulong Size, bool IsFunction, bool IsGlobal);
