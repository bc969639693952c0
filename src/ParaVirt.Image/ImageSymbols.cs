using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ELFSharp.ELF;
using ELFSharp.ELF.Sections;

namespace ParaVirt.Image;

/// <summary>
/// Symbolizes guest addresses with an image's debug ELF (<c>&lt;name&gt;.pvimg.elf</c>, written by
/// <see cref="DebugElfWriter"/>): the function (ilc's symbol, shown as gdb shows it,
/// <c>Hello_Hello_Kernel::Main</c>) and, from the DWARF line table, the C# file and line.
/// </summary>
/// <example><code>
/// ImageSymbols? symbols = ImageSymbols.TryLoad("Hello.pvimg.elf");
/// Console.WriteLine(symbols?.Describe(0x2003f0)); // Hello_Hello_Kernel::Main+0x10 (Kernel.cs:19)
/// </code></example>
public sealed class ImageSymbols
{
    private readonly List<(ulong Address, ulong Size, string Name)> _functions;
    private readonly DwarfLineTable? _lines;

    private ImageSymbols(List<(ulong, ulong, string)> functions, DwarfLineTable? lines, CallFrameTable? frames)
    {
        _functions = functions;
        _lines = lines;
        Frames = frames;
    }

    /// <summary>The image's call frame information (<c>.eh_frame</c>), for unwinding; null when the file has none.</summary>
    public CallFrameTable? Frames { get; }

    /// <summary>Loads the debug ELF at <paramref name="path"/>, or returns null when it is missing or unreadable.</summary>
    public static ImageSymbols? TryLoad(string path)
    {
        if (!File.Exists(path))
            return null;
        try
        {
            return Load(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Reads a debug ELF from <paramref name="elfBytes"/>.</summary>
    /// <exception cref="InvalidDataException">Not a 64-bit ELF file.</exception>
    public static ImageSymbols Load(byte[] elfBytes)
    {
        if (!ELFReader.TryLoad(new MemoryStream(elfBytes), true, out IELF elf) || elf.Class != Class.Bit64)
            throw new InvalidDataException("not a 64-bit ELF file");
        using (elf)
        {
            var functions = new List<(ulong, ulong, string)>();
            if (elf.Sections.FirstOrDefault(s => s.Type == SectionType.SymbolTable) is ISymbolTable symtab)
            {
                foreach (SymbolEntry<ulong> s in symtab.Entries.Cast<SymbolEntry<ulong>>())
                {
                    if (s.Type == SymbolType.Function && s.Name.Length > 0)
                        functions.Add((s.Value, s.Size, s.Name));
                }
            }
            functions.Sort((a, b) => a.Item1.CompareTo(b.Item1));
            DwarfLineTable? lines = null;
            if (elf.Sections.FirstOrDefault(s => s.Name == ".debug_line") is ISection debugLine)
                lines = DwarfLineTable.Parse(debugLine.GetContents());
            CallFrameTable? frames = null;
            if (elf.Sections.FirstOrDefault(s => s.Name == ".eh_frame") is Section<ulong> ehFrame && ehFrame.Type != SectionType.NoBits)
                frames = CallFrameTable.Parse(ehFrame.GetContents(), ehFrame.LoadAddress);
            return new ImageSymbols(functions, lines, frames);
        }
    }

    /// <summary>Whether <paramref name="address"/> lies inside a known function.</summary>
    public bool IsCode(ulong address) => TryFindFunction(address, out _, out _);

    /// <summary>The function containing <paramref name="address"/> and the offset into it.</summary>
    public bool TryFindFunction(ulong address, out string name, out ulong offset)
    {
        name = "";
        offset = 0;
        int lo = 0, hi = _functions.Count - 1, best = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (_functions[mid].Address <= address)
            {
                best = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (best < 0)
            return false;
        (ulong start, ulong size, string symbol) = _functions[best];
        if (size != 0 && address - start >= size)
            return false;
        name = DisplayName(symbol);
        offset = address - start;
        return true;
    }

    /// <summary>The C# file and line of <paramref name="address"/> from the DWARF line table.</summary>
    public bool TryFindLine(ulong address, out string file, out int line)
    {
        file = "";
        line = 0;
        return _lines is not null && _lines.TryFind(address, out file, out line);
    }

    /// <summary>
    /// One line for <paramref name="address"/>: <c>Type::Method+0xoff (File.cs:line)</c>, or the
    /// bare address. For a return address pass <paramref name="isReturnAddress"/>: the line is
    /// that of the call, one byte earlier.
    /// </summary>
    public string Describe(ulong address, bool isReturnAddress = false)
    {
        ulong lookup = isReturnAddress && address > 0 ? address - 1 : address;
        string text = TryFindFunction(lookup, out string name, out ulong offset) ? $"{name}+0x{offset + (address - lookup):x}" : $"0x{address:x}";
        if (TryFindLine(lookup, out string file, out int line))
            text += $" ({file}:{line})";
        return text;
    }

    /// <summary>ilc's <c>Namespace_Type__Method</c> shown as gdb shows it from the DWARF, <c>Namespace_Type::Method</c>.</summary>
    public static string DisplayName(string symbol)
    {
        int split = symbol.LastIndexOf("__", StringComparison.Ordinal);
        return split > 0 && split + 2 < symbol.Length ? symbol[..split] + "::" + symbol[(split + 2)..] : symbol;
    }
}
